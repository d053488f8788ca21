// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include "pvediff/store/backup_lookup.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;

namespace {

TEST(StoreBackupLookup, ParsesDatesAndTimeStampsInThreeSpellings)
{
    const auto d = parse_time_selector("2026-11-21");
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->date_only);
    EXPECT_EQ(d->year, 2026);
    EXPECT_EQ(d->month, 11);
    EXPECT_EQ(d->day, 21);
    for (const char* text : {"2026-11-21T01:02:03", "2026-11-21 01:02:03", "2026_11_21-01_02_03"}) {
        const auto t = parse_time_selector(text);
        ASSERT_TRUE(t) << text;
        EXPECT_FALSE(t->date_only);
        EXPECT_EQ(t->hour, 1);
        EXPECT_EQ(t->minute, 2);
        EXPECT_EQ(t->second, 3);
        EXPECT_EQ(describe_selector(*t), "2026-11-21 01:02:03");
    }
    for (const char* bad :
         {"", "2026-11", "2026-13-01", "2026-11-00", "2026-11-21T24:00:00", "2026-11-21X01:00:00",
          "2026_11_21 01:00:00", "2026-11-21T01:00", "latest", "+026-11-21", "2026-11-21T01:00:00Z"}) {
        EXPECT_FALSE(parse_time_selector(bad)) << bad;
    }
}

const std::string full1 = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
const std::string diff1a = full1 + "--differential-2026_11_21-01_00_00.vcdiff.zst";
const std::string diff1b = full1 + "--differential-2026_11_21-13_00_00.vcdiff.zst";
const std::string orphan =
    "vzdump-qemu-101-2026_11_06-01_00_00.vma.zst--differential-2026_11_22-01_00_00.vcdiff.zst";
const std::string ct = "vzdump-lxc-101-2026_11_21-02_00_00.tar.zst";

TEST(StoreBackupLookup, DatePicksTheNewestOfTheDayTimeStampTheExactOne)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    for (const auto& f : {full1, diff1a, diff1b, orphan}) {
        test::touch(dir / f, "x");
    }
    const DumpDir scanned = scan_dump_dir(dir.path());
    auto found = find_backups(scanned, 101, std::nullopt, *parse_time_selector("2026-11-21"));
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(found[0].backup.file(), diff1b);
    found = find_backups(scanned, 101, std::nullopt, *parse_time_selector("2026-11-21T01:00:00"));
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(found[0].backup.file(), diff1a);
    found = find_backups(scanned, 101, std::nullopt, *parse_time_selector("2026-11-20"));
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(found[0].backup.file(), full1);
    // The orphan of the 22nd cannot be restored: neither the date nor --latest picks it.
    EXPECT_TRUE(find_backups(scanned, 101, std::nullopt, *parse_time_selector("2026-11-22")).empty());
    TimeSelector latest;
    latest.latest = true;
    found = find_backups(scanned, 101, std::nullopt, latest);
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(found[0].backup.file(), diff1b);
    EXPECT_TRUE(find_backups(scanned, 102, std::nullopt, latest).empty());
    EXPECT_TRUE(
        find_backups(scanned, 101, std::nullopt, *parse_time_selector("2026-11-21T01:00:01")).empty());
}

TEST(StoreBackupLookup, OneCandidatePerGuestTypeSoTheCallerSeesAmbiguity)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    for (const auto& f : {full1, diff1a, ct}) {
        test::touch(dir / f, "x");
    }
    const DumpDir scanned = scan_dump_dir(dir.path());
    const auto day = *parse_time_selector("2026-11-21");
    EXPECT_EQ(find_backups(scanned, 101, std::nullopt, day).size(), 2U);
    const auto ct_only = find_backups(scanned, 101, GuestType::lxc, day);
    ASSERT_EQ(ct_only.size(), 1U);
    EXPECT_EQ(ct_only[0].backup.file(), ct);
    EXPECT_EQ(ct_only[0].guest.type, GuestType::lxc);
}

TEST(StoreBackupLookup, AtOneTimeStampTheFullWinsOverADifferential)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    const std::string full0 = "vzdump-qemu-101-2026_11_19-01_00_00.vma.zst";
    const std::string same_time_diff = full0 + "--differential-2026_11_20-01_00_00.vcdiff.zst";
    for (const auto& f : {full0, full1, same_time_diff}) {
        test::touch(dir / f, "x");
    }
    const DumpDir scanned = scan_dump_dir(dir.path());
    const auto found = find_backups(scanned, 101, std::nullopt, *parse_time_selector("2026-11-20T01:00:00"));
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(found[0].backup.file(), full1);
}

}  // namespace
