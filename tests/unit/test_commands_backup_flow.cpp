// SPDX-License-Identifier: GPL-2.0-or-later
// The commands layer driven in a temporary dump dir: backup (file mode) makes a full
// and then a differential through one plan/commit flow, restore and verify read them
// back; a damaged archive, fullbackup 0, a restored copy and the "wrong full" rule of
// store/manifest.h each keep their own assertion. Archives are made by GNU tar.
#include <gtest/gtest.h>

#include "pvediff/commands/backup.h"
#include "pvediff/commands/restore.h"
#include "pvediff/commands/verify.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/manifest.h"
#include "test_util.h"

namespace pvediff::commands {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

const std::string full_name = "vzdump-lxc-101-2026_11_01-01_00_00.tar";
const std::string next_name = "vzdump-lxc-101-2026_11_02-01_00_00.tar";
const std::string diff_name = full_name + "--differential-2026_11_02-01_00_00.vcdiff";

class BackupFlow : public ::testing::Test {
protected:
    void SetUp() override
    {
        fs::create_directory(tmp / "root");
        fs::create_directory(tmp / "dump");
        auto data = test::make_data(1 << 20, 7);
        test::write_file(tmp / "root" / "a", data);
        make_tar(tmp / "t0.tar");
        data[1000] ^= 0x55;
        data.insert(data.end(), 4096, 'x');
        test::write_file(tmp / "root" / "a", data);
        make_tar(tmp / "t1.tar");
        settings.fullbackup = std::chrono::hours(24 * 7);
    }
    void make_tar(const fs::path& out) const
    {
        ASSERT_EQ(test::run("tar -cf " + test::shell_quote(out.string()) + " -C " +
                            test::shell_quote((tmp / "root").string()) + " ."),
                  0);
    }
    fs::path dump(const std::string& name) const { return tmp / "dump" / name; }
    BackupResult backup(const std::string& name) { return backup_archive(dump(name), settings, log); }

    TempDir tmp;
    store::EffectiveSettings settings;
    std::vector<std::string> lines;
    Report log = [this](const std::string& line) { lines.push_back(line); };
};

TEST_F(BackupFlow, FullThenDifferentialRestoresAndVerifies)
{
    fs::copy_file(tmp / "t0.tar", dump(full_name));
    const BackupResult full = backup(full_name);
    EXPECT_FALSE(full.differential);
    ASSERT_TRUE(store::read_manifest(dump(full_name)));
    EXPECT_TRUE(fs::exists(dump(full_name + std::string(store::index_suffix))));

    fs::copy_file(tmp / "t1.tar", dump(next_name));
    const BackupResult diff = backup(next_name);
    ASSERT_TRUE(diff.differential);
    EXPECT_EQ(diff.written, dump(diff_name));
    EXPECT_FALSE(fs::exists(dump(next_name)));

    RestoreOptions r;
    r.file = dump(diff_name);
    r.output = (tmp / "restored.tar").string();
    EXPECT_TRUE(restore(r, log).checked_against_manifest);
    EXPECT_EQ(test::sha256_hex_of_file(tmp / "restored.tar"), test::sha256_hex_of_file(tmp / "t1.tar"));
    EXPECT_TRUE(verify_paths({tmp / "dump"}, log).ok());
}

TEST_F(BackupFlow, DamagedArchiveIsLeftAsVzdumpWroteIt)
{
    fs::copy_file(tmp / "t0.tar", dump(full_name));
    backup(full_name);
    const auto t1 = test::read_file(tmp / "t1.tar");
    test::write_file(dump(next_name),
                     {t1.begin(), t1.begin() + static_cast<std::ptrdiff_t>(t1.size() * 6 / 10)});
    const std::string before = test::sha256_hex_of_file(dump(next_name));
    EXPECT_THROW(backup(next_name), io::Error);
    EXPECT_EQ(test::sha256_hex_of_file(dump(next_name)), before);
    EXPECT_FALSE(fs::exists(dump(diff_name)));
    EXPECT_FALSE(store::read_manifest(dump(next_name)));
}

TEST_F(BackupFlow, DamagedNewFullGetsNoManifestNorIndex)
{
    test::write_file(dump(full_name + ".zst"), {'h', 'e', 'l', 'l', 'o', '\n'});
    EXPECT_THROW(backup(full_name + ".zst"), io::Error);
    EXPECT_FALSE(fs::exists(dump(full_name + ".zst" + std::string(store::manifest_suffix))));
    EXPECT_FALSE(fs::exists(dump(full_name + ".zst" + std::string(store::index_suffix))));
}

TEST_F(BackupFlow, FullbackupZeroWritesNothing)
{
    fs::copy_file(tmp / "t0.tar", dump(full_name));
    settings.fullbackup = std::chrono::seconds(0);
    backup(full_name);
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp / "dump"), fs::directory_iterator()), 1);
}

TEST_F(BackupFlow, RestoredCopyIsNeitherConvertedNorABase)
{
    fs::copy_file(tmp / "t0.tar", dump(full_name));
    backup(full_name);
    fs::copy_file(tmp / "t1.tar", dump(next_name));
    backup(next_name);
    RestoreOptions r;
    r.file = dump(diff_name);
    r.pve_dir = tmp / "dump";
    r.compress = io::Codec::none;
    restore(r, log);
    ASSERT_TRUE(fs::exists(dump(next_name + std::string(store::restored_suffix))));
    EXPECT_THROW(backup(next_name), io::Error);
    EXPECT_TRUE(fs::exists(dump(next_name)));
    // The next day is made against the full, not against the copy.
    const std::string day3 = "vzdump-lxc-101-2026_11_03-01_00_00.tar";
    fs::copy_file(tmp / "t1.tar", dump(day3));
    EXPECT_EQ(backup(day3).written, dump(full_name + "--differential-2026_11_03-01_00_00.vcdiff"));
    EXPECT_TRUE(fs::exists(dump(next_name)));
}

TEST(FullMismatch, OneRuleOneWording)
{
    io::Digest a{};
    io::Digest b{};
    b[0] = 1;
    EXPECT_FALSE(store::full_mismatch("full.vma", a, a, "'d'"));
    const auto m = store::full_mismatch("full.vma", a, b, "'d'");
    ASSERT_TRUE(m);
    EXPECT_NE(m->find("'full.vma' is not the full 'd' was made against"), std::string::npos);
}

}  // namespace
}  // namespace pvediff::commands
