// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <random>

#include "pvediff/store/policy.h"
#include "test_store_helpers.h"

using namespace pvediff;
using namespace pvediff::store;
using namespace std::chrono_literals;

namespace {

BackupName name_at(const BackupTime& t, GuestType type = GuestType::qemu)
{
    return BackupName{
        type, 101, t, type == GuestType::qemu ? ArchiveFormat::vma : ArchiveFormat::tar, ArchiveCodec::zstd,
        false};
}

// y-m-d plus `days`, by the calendar (no time zone involved).
BackupTime civil_plus(int y, int m, int d, int days, int hour, int minute = 0)
{
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d + days;
    tm.tm_hour = 12;
    const std::time_t t = ::timegm(&tm);
    std::tm out{};
    ::gmtime_r(&t, &out);
    return make_backup_time(out.tm_year + 1900, out.tm_mon + 1, out.tm_mday, hour, minute, 0);
}

EffectiveSettings with_fullbackup(std::chrono::seconds s)
{
    EffectiveSettings e;
    e.fullbackup = s;
    return e;
}

// Runs the policy over a series of backups as the backup command would (each new
// archive is either added as a full or as a differential of the chosen full) and
// returns the indices of those that stayed fulls.
std::vector<std::size_t> simulate(const std::vector<BackupTime>& times, const EffectiveSettings& settings)
{
    GuestBackups guest;
    guest.guest = GuestKey{GuestType::qemu, 101};
    std::vector<std::size_t> fulls;
    for (std::size_t i = 0; i < times.size(); ++i) {
        NewArchive archive{name_at(times[i]), format_backup_name(name_at(times[i])), false};
        const Decision d = decide_backup(&guest, archive, settings);
        EXPECT_FALSE(d.reason.empty());
        if (!d.differential()) {
            fulls.push_back(i);
            guest.chains.insert(guest.chains.begin(),
                                Chain{FullBackup{archive.file, archive.name, 1000, 0, {}, false}, {}});
        } else {
            auto it = std::find_if(guest.chains.begin(), guest.chains.end(),
                                   [&](const Chain& c) { return c.full.file == d.base->file; });
            EXPECT_NE(it, guest.chains.end());
            const auto dn = make_differential_name(d.base->name, times[i], ArchiveCodec::zstd);
            it->differentials.insert(it->differentials.begin(),
                                     DifferentialBackup{format_differential_name(dn), dn, 10, 0, {}});
        }
    }
    return fulls;
}

std::vector<std::size_t> every(std::size_t step, std::size_t count)
{
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < count; i += step) {
        out.push_back(i);
    }
    return out;
}

TEST(StorePolicy, DailyWithFullbackup7MakesAFullEverySeventhDay)
{
    // Across the end of DST (2026-10-25), month ends and the year end.
    test::ScopedTz tz("Europe/Vienna");
    std::vector<BackupTime> times;
    for (int day = 0; day < 120; ++day) {
        times.push_back(civil_plus(2026, 10, 1, day, 1));
    }
    EXPECT_EQ(simulate(times, with_fullbackup(7 * 24h)), every(7, 120));
    // The spring change (2026-03-29) too, with a job at 02:30 that the skipped hour
    // pushes to 03:30 on that day.
    times.clear();
    for (int day = 0; day < 60; ++day) {
        const BackupTime t = civil_plus(2026, 3, 10, day, 2, 30);
        times.push_back(t.day == 29 && t.month == 3 ? civil_plus(2026, 3, 10, day, 3, 30) : t);
    }
    EXPECT_EQ(simulate(times, with_fullbackup(7 * 24h)), every(7, 60));
}

TEST(StorePolicy, DailyJobsThatStartLateOrEarlyKeepTheirDay)
{
    test::ScopedTz tz("Europe/Vienna");
    std::mt19937 rng(7);
    std::vector<BackupTime> times;
    for (int day = 0; day < 100; ++day) {
        times.push_back(civil_plus(2026, 12, 1, day, 1, static_cast<int>(rng() % 50)));
    }
    EXPECT_EQ(simulate(times, with_fullbackup(7 * 24h)), every(7, 100));
    EXPECT_EQ(simulate(times, with_fullbackup(2 * 24h)), every(2, 100));
    EXPECT_EQ(simulate(times, with_fullbackup(24h)), every(1, 100));  // every day a full
}

TEST(StorePolicy, DailyByTheUtcClockAcrossDst)
{
    // A job every 24 h of real time: its local name moves by an hour at each change.
    test::ScopedTz tz("Europe/Vienna");
    std::vector<BackupTime> times;
    const std::time_t start = civil_plus(2026, 3, 1, 0, 1).time;
    for (int day = 0; day < 300; ++day) {
        times.push_back(backup_time_from_instant(start + day * 86400));
    }
    EXPECT_EQ(simulate(times, with_fullbackup(14 * 24h)), every(14, 300));
}

TEST(StorePolicy, SubDailySchedules)
{
    test::ScopedTz tz("UTC");
    std::vector<BackupTime> six_hourly;
    std::vector<BackupTime> hourly;
    const std::time_t start = civil_plus(2026, 12, 30, 0, 0).time;  // across the year end
    for (int i = 0; i < 40; ++i) {
        six_hourly.push_back(backup_time_from_instant(start + i * 6 * 3600));
    }
    for (int i = 0; i < 24 * 16; ++i) {
        hourly.push_back(backup_time_from_instant(start + i * 3600));
    }
    EXPECT_EQ(simulate(six_hourly, with_fullbackup(36h)), every(6, 40));  // a full every 36 h
    EXPECT_EQ(simulate(hourly, with_fullbackup(7 * 24h)), every(7 * 24, 24 * 16));
    EXPECT_EQ(simulate(hourly, with_fullbackup(24h)), every(24, 24 * 16));
}

TEST(StorePolicy, BoundaryIsExplicit)
{
    test::ScopedTz tz("UTC");
    GuestBackups guest;
    const BackupTime f = make_backup_time(2026, 11, 1, 1, 0, 0);
    guest.chains.push_back(
        Chain{FullBackup{format_backup_name(name_at(f)), name_at(f), 100, 0, {}, false}, {}});
    const EffectiveSettings s = with_fullbackup(7 * 24h);
    // No backup since the full: slack 12 h, limit 6d 12h.
    const auto at = [&](std::time_t seconds_after) {
        return NewArchive{name_at(backup_time_from_instant(f.time + seconds_after)), "", false};
    };
    EXPECT_TRUE(decide_backup(&guest, at(6 * 86400 + 12 * 3600 - 1), s).differential());
    EXPECT_FALSE(decide_backup(&guest, at(6 * 86400 + 12 * 3600), s).differential());
    const Decision d = decide_backup(&guest, at(2 * 86400), s);
    ASSERT_TRUE(d.differential());
    EXPECT_EQ(d.base->file, "vzdump-qemu-101-2026_11_01-01_00_00.vma.zst");
    EXPECT_EQ(d.reason,
              "differential against vzdump-qemu-101-2026_11_01-01_00_00.vma.zst, 2d old (new full due at "
              "6d 12h, fullbackup 7d less 12h slack)");
    EXPECT_EQ(decide_backup(&guest, at(7 * 86400), s).reason,
              "the newest full vzdump-qemu-101-2026_11_01-01_00_00.vma.zst is 7d old (fullbackup 7d less 12h "
              "slack): "
              "this backup stays a new full");
    EXPECT_EQ(schedule_slack(std::nullopt), 12h);
    EXPECT_EQ(schedule_slack(6h), 3h);
    EXPECT_EQ(schedule_slack(48h), 12h);
}

TEST(StorePolicy, ReasonsToStayAFull)
{
    test::ScopedTz tz("UTC");
    const BackupTime f = make_backup_time(2026, 11, 1, 1, 0, 0);
    const BackupTime n = make_backup_time(2026, 11, 2, 1, 0, 0);
    auto guest_with = [&](FullBackup full) {
        GuestBackups g;
        g.chains.push_back(Chain{std::move(full), {}});
        return g;
    };
    const FullBackup good{format_backup_name(name_at(f)), name_at(f), 100, 0, {}, false};
    const EffectiveSettings s = with_fullbackup(7 * 24h);
    const NewArchive archive{name_at(n), format_backup_name(name_at(n)), false};
    auto reason = [&](const GuestBackups* g, const NewArchive& a, const EffectiveSettings& e) {
        const Decision d = decide_backup(g, a, e);
        EXPECT_FALSE(d.differential()) << d.reason;
        return d.reason;
    };
    GuestBackups g = guest_with(good);
    EXPECT_TRUE(decide_backup(&g, archive, s).differential());
    // A protected full is a fine base.
    FullBackup prot = good;
    prot.sidecars.protected_marker = prot.file + ".protected";
    g = guest_with(prot);
    EXPECT_TRUE(decide_backup(&g, archive, s).differential());

    g = guest_with(good);
    EXPECT_EQ(reason(&g, archive, with_fullbackup(0s)), "fullbackup is 0: every backup stays a full");
    EXPECT_EQ(reason(&g, NewArchive{archive.name, archive.file, true}, s),
              "the archive is protected: never converted, it stays a full");
    EXPECT_EQ(reason(nullptr, archive, s), "no earlier full of qemu 101 in the dump dir: it stays a full");
    // The new archive itself, already in the dump dir, is never its own base.
    GuestBackups self = guest_with(FullBackup{archive.file, archive.name, 100, 0, {}, false});
    EXPECT_EQ(reason(&self, archive, s), "no earlier full of qemu 101 in the dump dir: it stays a full");
    // An archive that is already the full of a differential (a later archive was
    // converted first) is never converted: its differentials would lose their full.
    GuestBackups base_of = guest_with(good);
    base_of.chains.push_back(Chain{FullBackup{archive.file, archive.name, 100, 0, {}, false}, {}});
    const auto later =
        make_differential_name(archive.name, make_backup_time(2026, 11, 3, 1, 0, 0), ArchiveCodec::zstd);
    base_of.chains.back().differentials.push_back(
        DifferentialBackup{format_differential_name(later), later, 10, 0, {}});
    EXPECT_EQ(reason(&base_of, archive, s),
              "the archive is already the full of 1 differential(s): it stays a full");
    base_of.chains.back().differentials.clear();
    EXPECT_TRUE(decide_backup(&base_of, archive, s).differential());
    // A full newer than the archive is not a base either.
    EXPECT_FALSE(decide_backup(&g, NewArchive{name_at(make_backup_time(2026, 10, 30, 1, 0, 0)), "", false}, s)
                     .differential());

    FullBackup tar = good;
    tar.name.format = ArchiveFormat::tar;
    g = guest_with(tar);
    EXPECT_NE(reason(&g, archive, s).find("is a tar archive, this one a vma"), std::string::npos);
    FullBackup bz = good;
    bz.name.codec = ArchiveCodec::bzip2;
    g = guest_with(bz);
    EXPECT_NE(reason(&g, archive, s).find("bzip2"), std::string::npos);
    FullBackup busy = good;
    busy.being_replaced = true;
    g = guest_with(busy);
    EXPECT_NE(reason(&g, archive, s).find("temporary file"), std::string::npos);
    FullBackup empty = good;
    empty.size = 0;
    g = guest_with(empty);
    EXPECT_NE(reason(&g, archive, s).find("is empty"), std::string::npos);
    NewArchive bz_archive = archive;
    bz_archive.name.codec = ArchiveCodec::bzip2;
    g = guest_with(good);
    EXPECT_NE(reason(&g, bz_archive, s).find("bzip2"), std::string::npos);
}

TEST(StorePolicy, DifferentialSizeCheck)
{
    EXPECT_TRUE(check_differential_size(50, 100, 0.5).keep);
    const SizeCheck big = check_differential_size(51, 100, 0.5);
    EXPECT_FALSE(big.keep);
    EXPECT_EQ(big.reason,
              "the differential is 51.0% of its full (limit 50.0%): discarded, the archive stays a full");
    EXPECT_FALSE(check_differential_size(1, 0, 0.5).keep);
    EXPECT_EQ(format_age(std::chrono::seconds(6 * 86400 + 12 * 3600)), "6d 12h");
    EXPECT_EQ(format_age(std::chrono::seconds(90 * 60)), "1h 30m");
    EXPECT_EQ(format_age(std::chrono::seconds(5)), "5s");
}

}  // namespace
