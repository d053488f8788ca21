// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <map>

#include "pvediff/io/atomic_file.h"
#include "pvediff/store/retention.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;

namespace {

std::string full(const std::string& date)  // "2026_12_21"
{
    return "vzdump-qemu-101-" + date + "-01_00_00.vma.zst";
}
std::string diff(const std::string& full_date, const std::string& date)
{
    return full(full_date) + "--differential-" + date + "-01_00_00.vcdiff.zst";
}
std::string date_of(int y, int m, int d)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d_%02d_%02d", y, m, d);
    return buf;
}

// file -> "keep" / "remove"
std::map<std::string, std::string> actions(const GuestPrunePlan& plan)
{
    std::map<std::string, std::string> out;
    for (const auto& i : plan.items) {
        out[i.file] = i.action == PruneAction::keep ? "keep" : "remove";
    }
    return out;
}

GuestPrunePlan plan_for(const test::TempDir& dir, const KeepOptions& keep)
{
    const DumpDir d = scan_dump_dir(dir.path());
    const GuestBackups* g = d.find(GuestKey{GuestType::qemu, 101});
    EXPECT_NE(g, nullptr);
    return plan_guest_prune(dir.path(), *g, keep, PruneOptions{std::time(nullptr), std::chrono::hours(24)});
}

// Daily fulls from 2026-12-20 to 2027-01-10, vzdump's semantics exactly: keep-weekly
// skips the ISO weeks keep-daily already covers (2027-W01) and removes the older
// backups of each week it keeps (2026-W53 holds 2026-12-28 to 2027-01-03).
TEST(StoreRetention, VzdumpSemanticsAcrossTheYearEnd)
{
    test::ScopedTz tz("Europe/Vienna");
    test::TempDir dir;
    std::vector<std::string> names;
    for (int d = 20; d <= 31; ++d) {
        names.push_back(full(date_of(2026, 12, d)));
    }
    for (int d = 1; d <= 10; ++d) {
        names.push_back(full(date_of(2027, 1, d)));
    }
    for (const auto& n : names) {
        test::touch(dir / n);
    }
    KeepOptions keep;
    keep.daily = 3;
    keep.weekly = 2;
    keep.monthly = 2;
    keep.yearly = 1;
    const GuestPrunePlan plan = plan_for(dir, keep);
    ASSERT_EQ(plan.items.size(), names.size());
    EXPECT_EQ(plan.items.front().file, full("2027_01_10"));  // newest first
    std::vector<std::string> kept;
    for (const auto& i : plan.items) {
        if (i.action == PruneAction::keep) {
            kept.push_back(i.file + " " + i.reason);
        } else {
            EXPECT_EQ(i.reason, "not selected by any keep option");
            ASSERT_EQ(i.paths_to_delete.size(), 1U);
            EXPECT_EQ(i.paths_to_delete[0], dir / i.file);
        }
    }
    EXPECT_EQ(kept, (std::vector<std::string>{
                        full("2027_01_10") + " keep-daily 2027-01-10",
                        full("2027_01_09") + " keep-daily 2027-01-09",
                        full("2027_01_08") + " keep-daily 2027-01-08",
                        full("2027_01_03") + " keep-weekly 2026-W53",
                        full("2026_12_27") + " keep-weekly 2026-W52",
                    }));
    // keep-last alone counts backups, not periods.
    KeepOptions last;
    last.last = 4;
    EXPECT_EQ(plan_for(dir, last).kept(), 4U);
    // keep-monthly alone: the newest of each month.
    KeepOptions monthly;
    monthly.monthly = 5;
    const auto m = actions(plan_for(dir, monthly));
    EXPECT_EQ(m.at(full("2027_01_10")), "keep");
    EXPECT_EQ(m.at(full("2026_12_31")), "keep");
    EXPECT_EQ(plan_for(dir, monthly).kept(), 2U);
    // No option at all keeps everything.
    EXPECT_EQ(plan_for(dir, KeepOptions{}).kept(), names.size());
    KeepOptions all;
    all.all = true;
    EXPECT_EQ(plan_for(dir, all).items[5].reason, "keep-all");
}

// Weekly chains with daily differentials: the fulls stay while kept differentials need them.
TEST(StoreRetention, ChainAwareAcrossMonthAndYearEnds)
{
    test::ScopedTz tz("Europe/Vienna");
    test::TempDir dir;
    const std::string f1 = "2026_12_21";
    const std::string f2 = "2026_12_28";
    const std::string f3 = "2027_01_04";
    test::touch(dir / full(f1));
    test::touch(dir / full(f2));
    test::touch(dir / full(f3));
    for (int d = 22; d <= 27; ++d) {
        test::touch(dir / diff(f1, date_of(2026, 12, d)));
    }
    for (int d = 29; d <= 31; ++d) {
        test::touch(dir / diff(f2, date_of(2026, 12, d)));
    }
    for (int d = 1; d <= 3; ++d) {
        test::touch(dir / diff(f2, date_of(2027, 1, d)));
    }
    for (int d = 5; d <= 10; ++d) {
        test::touch(dir / diff(f3, date_of(2027, 1, d)));
    }
    // Sidecars go with their backup; vzdump's log of a differential is named by its time.
    test::touch(dir / (diff(f3, "2027_01_05") + ".pvediff-manifest"));
    test::touch(dir / "vzdump-qemu-101-2027_01_05-01_00_00.log");
    test::touch(dir / (diff(f3, "2027_01_05") + ".notes"));

    KeepOptions keep;
    keep.daily = 3;
    keep.weekly = 2;
    const GuestPrunePlan plan = plan_for(dir, keep);
    const auto a = actions(plan);
    ASSERT_EQ(a.size(), 3U + 6 + 6 + 6);
    const std::map<std::string, std::string> expected_keep = {
        {diff(f3, "2027_01_10"), "keep-daily 2027-01-10"}, {diff(f3, "2027_01_09"), "keep-daily 2027-01-09"},
        {diff(f3, "2027_01_08"), "keep-daily 2027-01-08"}, {full(f3), "needed by " + diff(f3, "2027_01_10")},
        {diff(f2, "2027_01_03"), "keep-weekly 2026-W53"},  {full(f2), "needed by " + diff(f2, "2027_01_03")},
        {diff(f1, "2026_12_27"), "keep-weekly 2026-W52"},  {full(f1), "needed by " + diff(f1, "2026_12_27")},
    };
    for (const auto& i : plan.items) {
        const auto it = expected_keep.find(i.file);
        if (it != expected_keep.end()) {
            EXPECT_EQ(i.action, PruneAction::keep) << i.file;
            EXPECT_EQ(i.reason, it->second) << i.file;
            EXPECT_TRUE(i.paths_to_delete.empty());
        } else {
            EXPECT_EQ(i.action, PruneAction::remove) << i.file << " " << i.reason;
        }
    }
    EXPECT_EQ(plan.kept(), expected_keep.size());
    const auto removed = std::find_if(plan.items.begin(), plan.items.end(),
                                      [&](const PruneItem& i) { return i.file == diff(f3, "2027_01_05"); });
    ASSERT_NE(removed, plan.items.end());
    EXPECT_EQ(removed->paths_to_delete,
              (std::vector<std::filesystem::path>{dir / diff(f3, "2027_01_05"),
                                                  dir / "vzdump-qemu-101-2027_01_05-01_00_00.log",
                                                  dir / (diff(f3, "2027_01_05") + ".notes"),
                                                  dir / (diff(f3, "2027_01_05") + ".pvediff-manifest")}));

    // keep-last 1: only the newest differential and its full; the other fulls go,
    // and every differential goes before any full.
    KeepOptions last;
    last.last = 1;
    const GuestPrunePlan p1 = plan_for(dir, last);
    EXPECT_EQ(p1.kept(), 2U);
    const auto order = p1.removal_order();
    ASSERT_FALSE(order.empty());
    const auto first_full = std::find_if(order.begin(), order.end(), [&](const auto& p) {
        return p.filename() == full(f1) || p.filename() == full(f2);
    });
    ASSERT_NE(first_full, order.end());
    EXPECT_TRUE(std::all_of(first_full, order.end(), [&](const auto& p) {
        return p.filename() == full(f1) || p.filename() == full(f2);
    }));
}

TEST(StoreRetention, ProtectedBackupsAreNeitherRemovedNorCounted)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    const std::string f1 = "2026_11_30";
    const std::string f2 = "2026_12_07";
    for (const auto& n : {full(f1), diff(f1, "2026_12_01"), diff(f1, "2026_12_02"), full(f2),
                          diff(f2, "2026_12_08"), diff(f2, "2026_12_09")}) {
        test::touch(dir / n);
    }
    test::touch(dir / (diff(f1, "2026_12_02") + ".protected"));
    test::touch(dir / (full(f2) + ".protected"));
    KeepOptions keep;
    keep.last = 2;
    const GuestPrunePlan plan = plan_for(dir, keep);
    const auto a = actions(plan);
    EXPECT_EQ(a.at(diff(f2, "2026_12_09")), "keep");
    EXPECT_EQ(a.at(diff(f2, "2026_12_08")), "keep");  // the protected full did not use up keep-last
    EXPECT_EQ(a.at(full(f2)), "keep");
    EXPECT_EQ(a.at(diff(f1, "2026_12_02")), "keep");
    EXPECT_EQ(a.at(full(f1)), "keep");  // needed by the protected differential
    EXPECT_EQ(a.at(diff(f1, "2026_12_01")), "remove");
    for (const auto& i : plan.items) {
        if (i.file == full(f1)) {
            EXPECT_EQ(i.reason, "needed by " + diff(f1, "2026_12_02"));
        }
        if (i.file == full(f2)) {
            EXPECT_TRUE(i.is_protected);
            EXPECT_EQ(i.reason, "protected");
        }
    }
}

TEST(StoreRetention, OrphansAreListedApart)
{
    test::ScopedTz tz("UTC");
    test::TempDir dir;
    test::touch(dir / full("2026_12_07"));
    const std::string gone = full("2026_11_30");
    test::touch(dir / diff("2026_11_30", "2026_12_01"));
    test::touch(dir / diff("2026_11_30", "2026_12_02"));
    test::touch(dir / (diff("2026_11_30", "2026_12_02") + ".protected"));
    test::touch(dir / (gone + ".pvediff-manifest"));
    test::touch(dir / (gone + ".protected"));
    // A run of this host that died (its pid is beyond any live one), and this very
    // process's, as old: only the dead run's is listed (issue 13, row 15).
    const auto old_temp =
        dir / ("." + full("2026_12_08") + ".4194303-1-" + io::temp_host_tag() + std::string(io::temp_marker));
    const auto new_temp = io::temp_path_for(dir / full("2026_12_09"));
    const auto live_temp = io::temp_path_for(dir / full("2026_12_11"));
    test::touch(old_temp);
    test::touch(new_temp);
    test::touch(live_temp);
    std::filesystem::last_write_time(old_temp,
                                     std::filesystem::file_time_type::clock::now() - std::chrono::hours(48));
    std::filesystem::last_write_time(live_temp,
                                     std::filesystem::file_time_type::clock::now() - std::chrono::hours(48));
    test::touch(dir / "vzdump-qemu-101-2026_12_10-01_00_00.vma.dat");
    std::filesystem::last_write_time(dir / "vzdump-qemu-101-2026_12_10-01_00_00.vma.dat",
                                     std::filesystem::file_time_type::clock::now() - std::chrono::hours(48));
    test::touch(dir / "vzdump-qemu-101-2026_12_03-01_00_00.log");  // a failed run's log: vzdump's business

    const GuestPrunePlan plan = plan_for(dir, KeepOptions{});
    EXPECT_EQ(plan.items.size(), 1U);
    std::map<std::string, const OrphanItem*> by_file;
    for (const auto& o : plan.orphans) {
        by_file[o.file] = &o;
    }
    EXPECT_EQ(by_file.count(live_temp.filename().string()), 0U);
    ASSERT_EQ(by_file.size(), 5U);
    const auto* d1 = by_file.at(diff("2026_11_30", "2026_12_01"));
    EXPECT_EQ(d1->kind, OrphanKind::differential);
    EXPECT_TRUE(d1->removable);
    EXPECT_EQ(d1->reason, "its full " + gone + " is gone");
    EXPECT_EQ(d1->paths_to_delete,
              (std::vector<std::filesystem::path>{dir / diff("2026_11_30", "2026_12_01")}));
    EXPECT_FALSE(by_file.at(diff("2026_11_30", "2026_12_02"))->removable);
    EXPECT_TRUE(by_file.at(gone + ".pvediff-manifest")->removable);
    EXPECT_FALSE(by_file.at(gone + ".protected")->removable);
    const auto* t = by_file.at(old_temp.filename().string());
    EXPECT_EQ(t->kind, OrphanKind::temp_file);
    EXPECT_EQ(t->paths_to_delete, (std::vector<std::filesystem::path>{old_temp}));
}

}  // namespace

namespace {

// Issue 16: a copy written by `restore --pve-name` is neither counted nor removed.
TEST(StoreRetention, RestoredCopyIsKeptAndNotCounted)
{
    test::TempDir dir;
    test::touch(dir / full("2026_11_01"));
    test::touch(dir / (full("2026_11_01") + ".pvediff-manifest"));
    test::touch(dir / diff("2026_11_01", "2026_11_02"));
    test::touch(dir / full("2026_11_02"));
    test::touch(dir / (full("2026_11_02") + std::string(restored_suffix)));
    KeepOptions keep;
    keep.last = 1;
    const GuestPrunePlan plan = plan_for(dir, keep);
    const auto a = actions(plan);
    EXPECT_EQ(a.at(full("2026_11_02")), "keep");
    EXPECT_EQ(a.at(diff("2026_11_01", "2026_11_02")), "keep");  // keep-last 1 counts the differential
    for (const auto& i : plan.items) {
        if (i.file == full("2026_11_02")) {
            EXPECT_NE(i.reason.find("restored copy"), std::string::npos) << i.reason;
        }
    }
}

// Issue 13, row 17: an archive no backup has seen yet (no manifest, no
// differentials) is not pruned, even when a newer differential exists.
TEST(StoreRetention, NewestArchiveNotThroughBackupIsKept)
{
    test::TempDir dir;
    test::touch(dir / full("2026_11_01"));
    test::touch(dir / (full("2026_11_01") + ".pvediff-manifest"));
    test::touch(dir / diff("2026_11_01", "2026_11_03"));
    test::touch(dir / full("2026_11_02"));  // its backup waits for the lock
    KeepOptions keep;
    keep.last = 1;
    const auto a = actions(plan_for(dir, keep));
    EXPECT_EQ(a.at(full("2026_11_02")), "keep");
}

}  // namespace
