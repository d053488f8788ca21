// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/error.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/names.h"
#include "test_store_helpers.h"

using namespace pvediff;
using namespace pvediff::store;

namespace {

TEST(StoreNames, ParsesAFullAndFormatsItBack)
{
    test::ScopedTz tz("UTC");
    const auto n = parse_backup_name("vzdump-qemu-101-2026_11_20-01_00_00.vma.zst");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->type, GuestType::qemu);
    EXPECT_EQ(n->vmid, 101U);
    EXPECT_EQ(n->time.year, 2026);
    EXPECT_EQ(n->time.month, 11);
    EXPECT_EQ(n->time.day, 20);
    EXPECT_EQ(n->time.hour, 1);
    EXPECT_EQ(n->time.minute, 0);
    EXPECT_EQ(n->time.second, 0);
    EXPECT_EQ(n->time.time, 1795136400);  // date -u -d '2026-11-20 01:00:00' +%s
    EXPECT_EQ(n->format, ArchiveFormat::vma);
    EXPECT_EQ(n->codec, ArchiveCodec::zstd);
    EXPECT_EQ(format_backup_name(*n), "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst");
}

TEST(StoreNames, EveryFormatAndCodecRoundTrips)
{
    for (const char* type : {"qemu", "lxc", "openvz"}) {
        for (const char* ext : {".vma", ".vma.zst", ".vma.lzo", ".vma.gz", ".vma.bz2", ".tar", ".tar.zst",
                                ".tar.lzo", ".tar.gz", ".tar.bz2", ".tgz"}) {
            const std::string name = std::string("vzdump-") + type + "-4294967295-2024_02_29-23_59_59" + ext;
            const auto n = parse_backup_name(name);
            ASSERT_TRUE(n) << name;
            EXPECT_EQ(n->vmid, 4294967295U);
            EXPECT_EQ(format_backup_name(*n), name);
            EXPECT_EQ(classify_entry_name(name).kind, EntryKind::full) << name;
        }
    }
    const auto tgz = parse_backup_name("vzdump-lxc-100-2026_01_01-00_00_00.tgz");
    ASSERT_TRUE(tgz);
    EXPECT_EQ(tgz->format, ArchiveFormat::tar);
    EXPECT_EQ(tgz->codec, ArchiveCodec::gzip);
    EXPECT_TRUE(tgz->tgz);
    EXPECT_FALSE(to_io_codec(ArchiveCodec::bzip2));
    EXPECT_EQ(to_io_codec(ArchiveCodec::lzo), io::Codec::lzo);
}

TEST(StoreNames, DifferentialsRoundTripAndNameTheirFull)
{
    const std::string full = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
    for (const char* ext : {"", ".zst", ".lzo", ".gz"}) {
        const std::string name = full + "--differential-2026_11_22-01_00_00.vcdiff" + ext;
        const auto d = parse_differential_name(name);
        ASSERT_TRUE(d) << name;
        EXPECT_EQ(d->full_file, full);
        EXPECT_EQ(format_backup_name(d->full), full);
        EXPECT_EQ(d->time.day, 22);
        EXPECT_EQ(format_differential_name(*d), name);
        EXPECT_FALSE(parse_backup_name(name));
        const auto e = classify_entry_name(name);
        EXPECT_EQ(e.kind, EntryKind::differential);
        ASSERT_TRUE(e.guest);
        EXPECT_EQ(e.guest->vmid, 101U);
    }
    // As the older pve-patches add-on named them, also against lzo and tar fulls.
    for (const char* name :
         {"vzdump-lxc-105-2023_05_01-02_30_00.tar.lzo--differential-2023_05_03-02_30_01.vcdiff.lzo",
          "vzdump-qemu-100-2020_01_01-00_00_00.vma.gz--differential-2020_01_02-00_00_00.vcdiff.gz",
          "vzdump-qemu-100-2020_01_01-00_00_00.vma--differential-2020_01_02-00_00_00.vcdiff"}) {
        const auto d = parse_differential_name(name);
        ASSERT_TRUE(d) << name;
        EXPECT_EQ(format_differential_name(*d), name);
    }
    const auto full_name = parse_backup_name(full);
    ASSERT_TRUE(full_name);
    const auto made =
        make_differential_name(*full_name, make_backup_time(2026, 11, 22, 1, 0, 0), ArchiveCodec::zstd);
    EXPECT_EQ(format_differential_name(made), full + "--differential-2026_11_22-01_00_00.vcdiff.zst");
    EXPECT_THROW(make_differential_name(*full_name, made.time, ArchiveCodec::bzip2), io::Error);
}

TEST(StoreNames, RestoredNameUsesTheDifferentialsTime)
{
    const auto d = parse_differential_name(
        "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_22-01_00_00.vcdiff.zst");
    ASSERT_TRUE(d);
    EXPECT_EQ(format_backup_name(restored_backup_name(*d)), "vzdump-qemu-101-2026_11_22-01_00_00.vma.zst");
    EXPECT_EQ(format_backup_name(restored_backup_name(*d, ArchiveCodec::none)),
              "vzdump-qemu-101-2026_11_22-01_00_00.vma");
    const auto t = parse_differential_name(
        "vzdump-lxc-200-2026_11_20-01_00_00.tgz--differential-2026_11_21-01_00_00.vcdiff.gz");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_backup_name(restored_backup_name(*t)), "vzdump-lxc-200-2026_11_21-01_00_00.tar.gz");
}

TEST(StoreNames, GarbageAndNearMissesAreNotBackups)
{
    for (const char* name : {
             "",
             "vzdump",
             "vzdump-qemu-101-2026_11_20-01_00_00",         // no extension
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.xz",  // unknown codec
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zstd",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.",
             "vzdump-qemu-101-2026_11_20-01_00_00.zst",
             "vzdump-qemu-101-2026_11_20-01_00_00.tar.tgz",
             "vzdump-qemu-101-2026_11_20-01_00_00.VMA",
             "vzdump-kvm-101-2026_11_20-01_00_00.vma",  // unknown type
             "vzdump-QEMU-101-2026_11_20-01_00_00.vma",
             "vzdump-qemu--2026_11_20-01_00_00.vma",            // no vmid
             "vzdump-qemu-0101-2026_11_20-01_00_00.vma",        // leading zero
             "vzdump-qemu-4294967296-2026_11_20-01_00_00.vma",  // beyond 32 bits
             "vzdump-qemu-10a-2026_11_20-01_00_00.vma",
             "vzdump-qemu-101-2026_13_20-01_00_00.vma",  // month 13
             "vzdump-qemu-101-2026_02_29-01_00_00.vma",  // not a leap year
             "vzdump-qemu-101-2026_11_20-24_00_00.vma",
             "vzdump-qemu-101-2026_11_20-01_60_00.vma",
             "vzdump-qemu-101-2026_11_20-01_00_60.vma",
             "vzdump-qemu-101-2026-11-20-01-00-00.vma",  // dashes
             "vzdump-qemu-101-2026_11_20_01_00_00.vma",
             "vzdump-qemu-101-26_11_20-01_00_00.vma",
             "vzdump-qemu-101-2026_11_20-01_00_00 .vma",
             " vzdump-qemu-101-2026_11_20-01_00_00.vma",
             "xvzdump-qemu-101-2026_11_20-01_00_00.vma",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.bak",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma\n",
             "vzdump-qemu-101-2026_11_20-01_00_0\xc3\xa4.vma",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_22-01_00_00",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_22-01_00_00.vcdiff.bz2",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_22-01_00_00.xdelta",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_22-01_00_00.vcdiff.zst.zst",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst-differential-2026_11_22-01_00_00.vcdiff.zst",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.xz--differential-2026_11_22-01_00_00.vcdiff.zst",
             "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_32-01_00_00.vcdiff.zst",
             "notes.txt",
             "dump",
         }) {
        EXPECT_FALSE(parse_backup_name(name)) << name;
        EXPECT_FALSE(parse_differential_name(name)) << name;
        const auto kind = classify_entry_name(name).kind;
        EXPECT_NE(kind, EntryKind::full) << name;
        EXPECT_NE(kind, EntryKind::differential) << name;
    }
}

TEST(StoreNames, SidecarsLogsLocksAndTemporaryFiles)
{
    const std::string full = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
    const std::string diff = full + "--differential-2026_11_22-01_00_00.vcdiff.zst";
    EXPECT_EQ(classify_entry_name(full + ".notes").kind, EntryKind::notes);
    EXPECT_EQ(classify_entry_name(full + ".notes").owner, full);
    EXPECT_EQ(classify_entry_name(full + ".protected").kind, EntryKind::protected_marker);
    EXPECT_EQ(classify_entry_name(full + ".pvediff-manifest").kind, EntryKind::manifest);
    EXPECT_EQ(classify_entry_name(diff + ".pvediff-manifest").owner, diff);
    EXPECT_EQ(classify_entry_name(full + ".pvediff-index").kind, EntryKind::index);
    EXPECT_EQ(classify_entry_name("junk.notes").kind, EntryKind::other);
    EXPECT_EQ(classify_entry_name(full + ".log").kind, EntryKind::other);  // logs drop the extensions

    const auto log = classify_entry_name("vzdump-qemu-101-2026_11_20-01_00_00.log");
    EXPECT_EQ(log.kind, EntryKind::log);
    ASSERT_TRUE(log.log_time);
    EXPECT_EQ(log.log_time->day, 20);
    EXPECT_EQ(classify_entry_name("vzdump-qemu-101-2026_11_20-01_00_0.log").kind, EntryKind::other);

    const auto lock = classify_entry_name(lock_file_name(GuestType::lxc, 205));
    EXPECT_EQ(lock.kind, EntryKind::lock);
    EXPECT_EQ(lock_file_name(GuestType::lxc, 205), ".pvediff-lock-lxc-205");
    ASSERT_TRUE(lock.guest);
    EXPECT_EQ(lock.guest->vmid, 205U);

    // In progress wins over anything else the name says.
    for (const char* name :
         {"vzdump-qemu-101-2026_11_20-01_00_00.vma.dat", "vzdump-qemu-101-2026_11_20-01_00_00.tmp",
          "vzdump-lxc-101-2026_11_20-01_00_00.tar.dat", "random.tmp", "x.dat"}) {
        EXPECT_EQ(classify_entry_name(name).kind, EntryKind::in_progress) << name;
    }
    EXPECT_EQ(classify_entry_name("vzdump-qemu-101-2026_11_20-01_00_00.tmp", true).kind,
              EntryKind::in_progress);
    EXPECT_EQ(classify_entry_name("vzdump-qemu-101-2026_11_20-01_00_00.vma.dat").guest->vmid, 101U);
    const std::string temp = io::temp_path_for(full).filename().string();
    ASSERT_TRUE(io::is_temp_name(temp));
    const auto t = classify_entry_name(temp);
    EXPECT_EQ(t.kind, EntryKind::in_progress);
    EXPECT_EQ(t.owner, full);
    ASSERT_TRUE(t.guest);
    EXPECT_EQ(t.guest->vmid, 101U);
    const std::string diff_temp = io::temp_path_for(diff + ".pvediff-manifest").filename().string();
    EXPECT_EQ(classify_entry_name(diff_temp).owner, diff + ".pvediff-manifest");
    // A directory named like a backup is not a backup.
    EXPECT_EQ(classify_entry_name(full, true).kind, EntryKind::other);
}

TEST(StoreNames, BackupTimesCompareByInstant)
{
    test::ScopedTz tz("Europe/Vienna");
    const auto a = make_backup_time(2026, 12, 31, 23, 59, 59);
    const auto b = make_backup_time(2027, 1, 1, 0, 0, 0);
    EXPECT_LT(a, b);
    EXPECT_EQ(b.time - a.time, 1);
    EXPECT_EQ(format_backup_time(b), "2027_01_01-00_00_00");
    EXPECT_EQ(display_time(b), "2027-01-01 00:00:00");
    EXPECT_THROW(make_backup_time(2026, 2, 29, 0, 0, 0), io::Error);
    const auto back = backup_time_from_instant(b.time);
    EXPECT_EQ(back, b);
    EXPECT_EQ(back.time, b.time);
}

// Europe/Vienna: CEST -> CET on 2026-10-25 at 03:00 (02:00-02:59 twice),
// CET -> CEST on 2026-03-29 at 02:00 (02:00-02:59 does not exist).
TEST(StoreNames, DstRepeatedHourTakesTheFirstOccurrence)
{
    test::ScopedTz tz("Europe/Vienna");
    const auto t = parse_backup_time("2026_10_25-02_30_00");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->time, 1792888200);  // 2026-10-25 00:30:00 UTC = 02:30 CEST
    const auto before = *parse_backup_time("2026_10_25-01_59_59");
    const auto after = *parse_backup_time("2026_10_25-03_00_00");
    EXPECT_EQ(t->time - before.time, 30 * 60 + 1);
    EXPECT_EQ(after.time - t->time, 90 * 60);  // 02:30 CEST -> 03:00 CET
    // The second 02:30 (CET) names the same wall clock: same BackupTime.
    EXPECT_EQ(backup_time_from_instant(1792888200 + 3600), *t);
}

TEST(StoreNames, DstSkippedHourUsesTheOffsetBeforeTheJump)
{
    test::ScopedTz tz("Europe/Vienna");
    const auto t = parse_backup_time("2026_03_29-02_30_00");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->time, 1774747800);                            // 01:30 UTC = 02:30 CET = 03:30 CEST
    EXPECT_EQ(format_backup_time(*t), "2026_03_29-02_30_00");  // the name is kept as written
    const auto before = *parse_backup_time("2026_03_29-01_59_00");
    const auto after = *parse_backup_time("2026_03_29-03_00_00");
    EXPECT_EQ(after.time - before.time, 60);
    EXPECT_LT(before, *t);
    EXPECT_LT(after, *t);  // 03:00 CEST is before "02:30" read as CET
}

}  // namespace
