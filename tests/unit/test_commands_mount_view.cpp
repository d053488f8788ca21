// SPDX-License-Identifier: GPL-2.0-or-later
// The names, sizes and times `pvediff mount` shows for a dump dir (mount_view.h), and
// which writes through the view land where.
#include <gtest/gtest.h>

#include "pvediff/commands/mount_view.h"
#include "pvediff/store/dump_dir.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::commands;

namespace {

const std::string vm_full = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
const std::string vm_diff1 = vm_full + "--differential-2026_11_21-01_00_00.vcdiff.zst";
const std::string vm_diff2 = vm_full + "--differential-2026_11_22-01_00_00.vcdiff";  // add-on, plain
const std::string ct_full = "vzdump-lxc-200-2026_11_20-01_00_00.tgz";
const std::string ct_diff = ct_full + "--differential-2026_11_21-01_00_00.vcdiff.lzo";

// Every differential 1000 bytes plus the length of its name: distinct per file.
std::optional<std::uint64_t> fake_size(const store::DifferentialBackup& d)
{
    return 1000 + d.file.size();
}

std::vector<std::string> names_of(const View& v)
{
    std::vector<std::string> out;
    for (const auto& [name, e] : v.entries) {
        out.push_back(name);
    }
    return out;
}

TEST(MountView, ShowsFullsAsTheyAreAndDifferentialsUncompressedUnderVzdumpNames)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    for (const auto& f : {vm_full, vm_diff1, vm_diff2, ct_full, ct_diff}) {
        test::touch(dir / f, "data");
    }
    test::touch(dir / (vm_diff1 + ".notes"), "monday");
    test::touch(dir / (vm_diff1 + ".protected"));
    test::touch(dir / "vzdump-qemu-101-2026_11_21-01_00_00.log", "log of the run");
    test::touch(dir / (vm_full + ".notes"), "the full");
    test::touch(dir / (vm_diff1 + ".pvediff-manifest"), "x");
    test::touch(dir / "vzdump-qemu-101-2026_11_23-01_00_00.vma.dat");  // in progress: never shown
    test::touch(dir / "README");
    const View v = build_view(store::scan_dump_dir(dir.path()), fake_size);

    EXPECT_EQ(names_of(v), (std::vector<std::string>{
                               "vzdump-lxc-200-2026_11_20-01_00_00.tgz",
                               "vzdump-lxc-200-2026_11_21-01_00_00.tar",
                               "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst",
                               "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.notes",
                               "vzdump-qemu-101-2026_11_21-01_00_00.log",
                               "vzdump-qemu-101-2026_11_21-01_00_00.vma",
                               "vzdump-qemu-101-2026_11_21-01_00_00.vma.notes",
                               "vzdump-qemu-101-2026_11_21-01_00_00.vma.protected",
                               "vzdump-qemu-101-2026_11_22-01_00_00.vma",
                           }));
    const ViewEntry* d1 = v.find("vzdump-qemu-101-2026_11_21-01_00_00.vma");
    ASSERT_NE(d1, nullptr);
    EXPECT_EQ(d1->kind, ViewKind::differential);
    EXPECT_EQ(d1->source, vm_diff1);
    EXPECT_EQ(d1->full_file, vm_full);
    EXPECT_EQ(d1->size, 1000 + vm_diff1.size());
    EXPECT_EQ(d1->mtime, 1795222800);  // 2026-11-21 01:00:00 UTC: the backup's time
    const ViewEntry* full = v.find(vm_full);
    ASSERT_NE(full, nullptr);
    EXPECT_EQ(full->kind, ViewKind::full);
    EXPECT_EQ(full->size, 4U);  // the real file's size
    EXPECT_EQ(v.find("vzdump-qemu-101-2026_11_21-01_00_00.vma.notes")->source, vm_diff1 + ".notes");
    EXPECT_EQ(v.find("vzdump-qemu-101-2026_11_21-01_00_00.vma.protected")->source, vm_diff1 + ".protected");
    EXPECT_EQ(v.find("vzdump-qemu-101-2026_11_21-01_00_00.log")->kind, ViewKind::log);
    // A .tgz full's differential is shown as .tar.
    EXPECT_EQ(v.find("vzdump-lxc-200-2026_11_21-01_00_00.tar")->full_file, ct_full);
}

TEST(MountView, ARealArchiveWinsOverADifferentialForTheSameBackup)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    // Day 21 exists both as a differential and as a real archive (restored with --pve-name).
    const std::string real21 = "vzdump-qemu-101-2026_11_21-01_00_00.vma.lzo";
    for (const auto& f : {vm_full, vm_diff1, real21}) {
        test::touch(dir / f, "data");
    }
    const View v = build_view(store::scan_dump_dir(dir.path()), fake_size);
    EXPECT_EQ(v.find("vzdump-qemu-101-2026_11_21-01_00_00.vma"), nullptr);
    ASSERT_NE(v.find(real21), nullptr);
    EXPECT_EQ(v.find(real21)->kind, ViewKind::full);
}

TEST(MountView, LeavesOutOrphansAndDifferentialsOfUnknownSize)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    const std::string orphan =
        "vzdump-qemu-102-2026_11_01-01_00_00.vma.zst--differential-2026_11_02-01_00_00.vcdiff.zst";
    for (const auto& f : {vm_full, vm_diff1, vm_diff2, orphan}) {
        test::touch(dir / f, "data");
    }
    const View v = build_view(store::scan_dump_dir(dir.path()), [](const store::DifferentialBackup& d) {
        return d.file == vm_diff2 ? std::nullopt : std::optional<std::uint64_t>(7);
    });
    EXPECT_EQ(names_of(v), (std::vector<std::string>{vm_full, "vzdump-qemu-101-2026_11_21-01_00_00.vma"}));
}

TEST(MountView, WritesOnlyReachTheNotesAndProtectedMarkerOfAShownBackup)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    for (const auto& f : {vm_full, vm_diff1}) {
        test::touch(dir / f, "data");
    }
    const View v = build_view(store::scan_dump_dir(dir.path()), fake_size);
    const std::string shown = "vzdump-qemu-101-2026_11_21-01_00_00.vma";

    const auto notes = writable_sidecar(v, shown + ".notes");
    ASSERT_TRUE(notes);
    EXPECT_EQ(notes->dump_dir_name, vm_diff1 + ".notes");
    EXPECT_FALSE(notes->temporary);
    const auto tmp = writable_sidecar(v, shown + ".notes.tmp.4711");
    ASSERT_TRUE(tmp);
    EXPECT_EQ(tmp->dump_dir_name, vm_diff1 + ".notes.tmp.4711");
    EXPECT_TRUE(tmp->temporary);
    const auto marker = writable_sidecar(v, shown + ".protected");
    ASSERT_TRUE(marker);
    EXPECT_EQ(marker->dump_dir_name, vm_diff1 + ".protected");
    EXPECT_EQ(marker->kind, ViewKind::protected_marker);
    EXPECT_EQ(writable_sidecar(v, vm_full + ".notes")->dump_dir_name, vm_full + ".notes");

    for (const std::string& bad :
         std::vector<std::string>{shown, shown + ".log", shown + ".notes.tmp.", shown + ".notes.tmp.12x",
                                  shown + ".notes.tmp.12345678901", std::string("other.notes"),
                                  "vzdump-qemu-101-2026_11_29-01_00_00.vma.notes", vm_diff1 + ".notes",
                                  shown + ".pvediff-manifest", shown + ".notes/../x"}) {
        EXPECT_FALSE(writable_sidecar(v, bad)) << bad;
    }
}

}  // namespace
