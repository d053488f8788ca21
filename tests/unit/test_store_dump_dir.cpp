// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/error.h"
#include "pvediff/store/dump_dir.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;

// Not anonymous: the test binary is compiled in unity batches, where another file
// defines fixtures of the same names.
namespace test_store_dump_dir {

const std::string full1 = "vzdump-qemu-101-2026_11_13-01_00_00.vma.zst";
const std::string full2 = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
const std::string diff1a = full1 + "--differential-2026_11_14-01_00_00.vcdiff.zst";
const std::string diff2a = full2 + "--differential-2026_11_21-01_00_00.vcdiff.zst";
const std::string diff2b = full2 + "--differential-2026_11_22-01_00_00.vcdiff.zst";
const std::string orphan =
    "vzdump-qemu-101-2026_11_06-01_00_00.vma.zst--differential-2026_11_07-01_00_00.vcdiff.zst";

TEST(StoreDumpDir, GroupsChainsNewestFirstWithSidecars)
{
    test::ScopedTz tz("Europe/Vienna");
    test::TempDir dir;
    for (const auto& f : {full1, full2, diff1a, diff2a, diff2b, orphan}) {
        test::touch(dir / f, "x");
    }
    test::touch(dir / (full2 + ".notes"));
    test::touch(dir / (full2 + ".protected"));
    test::touch(dir / (full2 + ".pvediff-manifest"));
    test::touch(dir / (full2 + ".pvediff-index"));
    test::touch(dir / (diff2b + ".pvediff-manifest"));
    test::touch(dir / "vzdump-qemu-101-2026_11_20-01_00_00.log");
    test::touch(dir / "vzdump-qemu-101-2026_11_22-01_00_00.log");  // the differential's run
    test::touch(dir / "vzdump-qemu-101-2026_11_23-01_00_00.log");  // a failed run
    test::touch(dir / ("vzdump-qemu-101-2026_11_01-01_00_00.vma.zst" + std::string(".pvediff-manifest")));
    test::touch(dir / "vzdump-qemu-101-2026_11_24-01_00_00.vma.dat");
    std::filesystem::create_directory(dir / "vzdump-qemu-101-2026_11_24-01_00_00.tmp");
    test::touch(dir / io::temp_path_for(dir / full1).filename());
    test::touch(dir / ".pvediff-lock-qemu-101");
    test::touch(dir / "vzdump-lxc-200-2026_11_20-01_00_00.tar.gz");
    test::touch(dir / "README");
    std::filesystem::create_directory(dir / "vzdump-qemu-999-2026_11_20-01_00_00.vma");
    test::touch(dir / "leftover.tmp");

    const DumpDir d = scan_dump_dir(dir.path());
    ASSERT_EQ(d.guests.size(), 2U);
    const GuestBackups* g = d.find(GuestKey{GuestType::qemu, 101});
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(d.guests[0].guest.vmid, 101U);  // by VMID
    ASSERT_EQ(g->chains.size(), 2U);
    EXPECT_EQ(g->chains[0].full.file, full2);  // newest full first
    EXPECT_EQ(g->chains[1].full.file, full1);
    ASSERT_EQ(g->chains[0].differentials.size(), 2U);
    EXPECT_EQ(g->chains[0].differentials[0].file, diff2b);  // newest first
    EXPECT_EQ(g->chains[0].differentials[1].file, diff2a);
    EXPECT_EQ(g->chains[0].full.size, 1U);

    const Sidecars& s = g->chains[0].full.sidecars;
    EXPECT_EQ(s.notes, full2 + ".notes");
    EXPECT_TRUE(s.is_protected());
    EXPECT_EQ(s.manifest, full2 + ".pvediff-manifest");
    EXPECT_EQ(s.index, full2 + ".pvediff-index");
    EXPECT_EQ(s.log, "vzdump-qemu-101-2026_11_20-01_00_00.log");
    EXPECT_EQ(s.removable_files().size(), 4U);  // never the .protected marker
    EXPECT_EQ(g->chains[0].differentials[0].sidecars.log, "vzdump-qemu-101-2026_11_22-01_00_00.log");
    EXPECT_EQ(g->chains[0].differentials[0].sidecars.manifest, diff2b + ".pvediff-manifest");

    ASSERT_EQ(g->orphan_differentials.size(), 1U);
    EXPECT_EQ(g->orphan_differentials[0].file, orphan);
    ASSERT_EQ(g->orphan_sidecars.size(), 1U);
    EXPECT_EQ(g->orphan_sidecars[0].parsed.kind, EntryKind::manifest);
    ASSERT_EQ(g->unattached_logs.size(), 1U);
    EXPECT_EQ(g->unattached_logs[0].name, "vzdump-qemu-101-2026_11_23-01_00_00.log");
    EXPECT_EQ(g->in_progress.size(), 3U);  // .dat, .tmp dir, pvediff temp of full1
    EXPECT_TRUE(g->chains[1].full.being_replaced);
    EXPECT_FALSE(g->chains[0].full.being_replaced);

    ASSERT_EQ(d.in_progress.size(), 1U);
    EXPECT_EQ(d.in_progress[0].name, "leftover.tmp");
    // The lock, README and the directory named like a backup are "other".
    EXPECT_EQ(d.other.size(), 3U);
    EXPECT_EQ(d.find(GuestKey{GuestType::qemu, 999}), nullptr);

    const auto all = all_backups(*g);
    ASSERT_EQ(all.size(), 6U);
    EXPECT_EQ(all[0].file(), diff2b);
    EXPECT_EQ(all[1].file(), diff2a);
    EXPECT_EQ(all[2].file(), full2);
    EXPECT_EQ(all[5].file(), orphan);
    EXPECT_EQ(all[5].chain, nullptr);
}

TEST(StoreDumpDir, EmptyAndMissingDirectories)
{
    test::TempDir dir;
    EXPECT_TRUE(scan_dump_dir(dir.path()).guests.empty());
    try {
        (void)scan_dump_dir(dir / "missing");
        FAIL() << "no error";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read directory"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
    }
}

TEST(StoreDumpDir, NamesWithOddCharactersAreLeftAlone)
{
    test::TempDir dir;
    for (const char* name : {"vzdump-qemu-101-2026_11_20-01_00_00.vma.zst with space", "\xff\xfe.vma", "-rf",
                             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst\n"}) {
        test::touch(dir / name);
    }
    const DumpDir d = scan_dump_dir(dir.path());
    EXPECT_TRUE(d.guests.empty());
    EXPECT_EQ(d.other.size(), 4U);
}

}  // namespace test_store_dump_dir
