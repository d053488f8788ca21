// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/backup_time.h"

#include <array>
#include <cstdio>
#include <tuple>

#include "pvediff/io/error.h"

namespace pvediff::store {
namespace {

bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month)
{
    static constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days.at(static_cast<std::size_t>(month - 1));
}

bool fields_valid(int year, int month, int day, int hour, int minute, int second)
{
    return year >= 1970 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= days_in_month(year, month) && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 &&
           second >= 0 && second <= 59;
}

// Reads exactly `width` decimal digits.
bool read_digits(std::string_view text, std::size_t pos, std::size_t width, int& out)
{
    int value = 0;
    for (std::size_t i = 0; i < width; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    out = value;
    return true;
}

}  // namespace

std::strong_ordering operator<=>(const BackupTime& a, const BackupTime& b)
{
    if (auto c = a.time <=> b.time; c != 0) {
        return c;
    }
    return std::tie(a.year, a.month, a.day, a.hour, a.minute, a.second) <=>
           std::tie(b.year, b.month, b.day, b.hour, b.minute, b.second);
}

std::time_t local_to_instant(int year, int month, int day, int hour, int minute, int second)
{
    // Ask mktime for the instant under standard time and under DST separately and
    // keep those that map back to the same wall clock: two for a repeated time (take
    // the earlier), none for a skipped one (take the later, i.e. the offset in force
    // before clocks went forward, which is the smaller one).
    std::time_t best_match = -1;
    bool have_match = false;
    std::time_t latest = -1;
    bool have_any = false;
    for (int isdst : {1, 0}) {
        std::tm tm{};
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;
        tm.tm_isdst = isdst;
        const std::time_t t = std::mktime(&tm);
        if (t == static_cast<std::time_t>(-1)) {
            continue;
        }
        if (!have_any || t > latest) {
            latest = t;
            have_any = true;
        }
        std::tm back{};
        if (::localtime_r(&t, &back) == nullptr) {
            continue;
        }
        if (back.tm_year == year - 1900 && back.tm_mon == month - 1 && back.tm_mday == day &&
            back.tm_hour == hour && back.tm_min == minute && back.tm_sec == second) {
            if (!have_match || t < best_match) {
                best_match = t;
                have_match = true;
            }
        }
    }
    if (have_match) {
        return best_match;
    }
    if (have_any) {
        return latest;
    }
    throw io::Error(fmt::format("cannot convert local time {}-{}-{} to an instant", year, month, day));
}

BackupTime make_backup_time(int year, int month, int day, int hour, int minute, int second)
{
    if (!fields_valid(year, month, day, hour, minute, second)) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%04d_%02d_%02d-%02d_%02d_%02d", year, month, day, hour, minute,
                      second);
        throw io::Error(fmt::format("invalid backup time {}", buf));
    }
    BackupTime t{year, month, day, hour, minute, second, 0};
    t.time = local_to_instant(year, month, day, hour, minute, second);
    return t;
}

std::optional<BackupTime> parse_backup_time(std::string_view text)
{
    // YYYY_MM_DD-HH_MM_SS
    if (text.size() != 19 || text[4] != '_' || text[7] != '_' || text[10] != '-' || text[13] != '_' ||
        text[16] != '_') {
        return std::nullopt;
    }
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    if (!read_digits(text, 0, 4, y) || !read_digits(text, 5, 2, mo) || !read_digits(text, 8, 2, d) ||
        !read_digits(text, 11, 2, h) || !read_digits(text, 14, 2, mi) || !read_digits(text, 17, 2, s)) {
        return std::nullopt;
    }
    if (!fields_valid(y, mo, d, h, mi, s)) {
        return std::nullopt;
    }
    return make_backup_time(y, mo, d, h, mi, s);
}

std::string format_backup_time(const BackupTime& t)
{
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d_%02d_%02d-%02d_%02d_%02d", t.year, t.month, t.day, t.hour, t.minute,
                  t.second);
    return buf;
}

std::string display_time(const BackupTime& t)
{
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute,
                  t.second);
    return buf;
}

BackupTime backup_time_from_instant(std::time_t instant)
{
    std::tm tm{};
    if (::localtime_r(&instant, &tm) == nullptr) {
        throw io::Error(fmt::format("cannot convert time {} to local time", instant));
    }
    // The instant is derived from the fields again, so a BackupTime is always a
    // function of its name (in the repeated hour this moves it to the first one).
    return make_backup_time(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace pvediff::store
