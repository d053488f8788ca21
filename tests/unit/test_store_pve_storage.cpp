// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <algorithm>

#include "pvediff/io/error.h"
#include "pvediff/store/pve_storage.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;

namespace {

// A storage.cfg as PVE 8 writes it, with one storage of each kind that matters.
constexpr std::string_view sample = R"(dir: local
	path /var/lib/vz
	content iso,vztmpl,backup

lvmthin: local-lvm
	thinpool data
	vgname pve
	content rootdir,images

nfs: nas
	export /export/pve
	path /mnt/pve/nas
	server 192.0.2.10
	content backup,iso
	prune-backups keep-all=1

cifs: smb
	path /mnt/pve/smb
	server 192.0.2.11
	share backups
	content images

dir: other-node
	path /srv/backup
	content backup
	nodes pve2,pve3

dir: off
	path /srv/off
	content backup
	disable

cephfs: cephfs
	content backup,vztmpl

dir: custom
	path /srv/custom
	content backup
	content-dirs backup=vzdumps,iso=isos
	shared 1
)";

std::vector<std::string> dirs_of(const std::vector<BackupStorage>& s)
{
    std::vector<std::string> out;
    for (const auto& b : s) {
        out.push_back(b.id + "=" + b.dump_dir.string());
    }
    return out;
}

TEST(StorePveStorage, FindsTheDirectoryStoragesThatHoldBackups)
{
    EXPECT_EQ(dirs_of(parse_backup_storages(sample, "pve1")),
              (std::vector<std::string>{"local=/var/lib/vz/dump", "nas=/mnt/pve/nas/dump",
                                        "cephfs=/mnt/pve/cephfs/dump", "custom=/srv/custom/vzdumps"}));
    // On pve2 the storage limited to pve2,pve3 is one of them.
    const auto on_pve2 = dirs_of(parse_backup_storages(sample, "pve2"));
    EXPECT_NE(std::find(on_pve2.begin(), on_pve2.end(), "other-node=/srv/backup/dump"), on_pve2.end());
}

TEST(StorePveStorage, EmptyAndCommentOnlyFilesHaveNone)
{
    EXPECT_TRUE(parse_backup_storages("", "pve").empty());
    EXPECT_TRUE(parse_backup_storages("# nothing\n\n", "pve").empty());
}

TEST(StorePveStorage, HostileInputIsSkippedNotFollowed)
{
    // Relative or missing paths of a dir storage, ids that would climb out of
    // /mnt/pve, content-dirs with "..", properties before any header, control
    // characters, a section header without id: none yields a directory.
    constexpr std::string_view hostile =
        "\tpath /etc\n\tcontent backup\n\n"
        "dir: rel\n\tpath var/lib\n\tcontent backup\n\n"
        "dir: nopath\n\tcontent backup\n\n"
        "nfs: ..\n\tcontent backup\n\n"
        "nfs: a/b\n\tcontent backup\n\n"
        "dir: climb\n\tpath /srv\n\tcontent backup\n\tcontent-dirs backup=../etc\n\n"
        "dir:\n\tpath /srv\n\tcontent backup\n\n"
        "dir: ctl\n\tpath /srv/\x01x\n\tcontent backup\n\n"
        "zfspool: z\n\tpath /srv/z\n\tcontent backup\n";
    const auto found = dirs_of(parse_backup_storages(hostile, "pve"));
    // Only "climb" is used, with its content-dirs ignored (the default dump subdir);
    // "ctl" has its path line skipped, so it has no path and is not used.
    EXPECT_EQ(found, (std::vector<std::string>{"climb=/srv/dump"}));
}

TEST(StorePveStorage, ManySectionsAndLongLinesAreBounded)
{
    std::string big;
    for (int i = 0; i < 10000; ++i) {
        big += "dir: s" + std::to_string(i) + "\n\tpath /srv/" + std::to_string(i) + "\n\tcontent backup\n\n";
    }
    EXPECT_EQ(parse_backup_storages(big, "pve").size(), pve_storage_max_sections);
    EXPECT_TRUE(parse_backup_storages(std::string(100000, 'x'), "pve").empty());
}

TEST(StorePveStorage, LoadsFromAFileMissingIsEmptyHugeIsRefused)
{
    test::TempDir dir;
    EXPECT_TRUE(load_backup_storages(dir / "missing.cfg", "pve").empty());
    test::touch(dir / "storage.cfg", std::string(sample));
    EXPECT_EQ(load_backup_storages(dir / "storage.cfg", "pve").size(), 4U);
    test::touch(dir / "huge.cfg", std::string(pve_storage_cfg_max_size + 1, '#'));
    EXPECT_THROW(load_backup_storages(dir / "huge.cfg", "pve"), io::Error);
}

}  // namespace
