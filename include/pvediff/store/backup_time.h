// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The time in a vzdump file name, `YYYY_MM_DD-HH_MM_SS`, is local time (vzdump
// formats it with strftime on localtime()). pvediff keeps both the wall-clock fields
// exactly as written, so a name always formats back to itself, and the instant they
// stand for in the process's time zone (TZ), for ages and ordering.
//
// Converting wall-clock time to an instant is ambiguous around DST changes; pvediff
// resolves it deterministically (mktime's tm_isdst=-1 guess is not relied upon):
// - a repeated wall-clock time (the hour after clocks go back, e.g. 02:30 on
//   2026-10-25 in Europe/Vienna happens in CEST and again in CET) is taken as its
//   FIRST occurrence (the earlier instant, 00:30 UTC);
// - a nonexistent wall-clock time (the hour skipped when clocks go forward, e.g.
//   02:30 on 2026-03-29 in Europe/Vienna) is read with the UTC offset in force
//   before the change, so it lands that far past the jump (02:30 CET = 01:30 UTC,
//   shown as 03:30 CEST). vzdump never writes such a name itself; a host whose zone
//   changed could.
// So a backup named in the repeated hour may sort up to an hour away from its true
// instant; nothing else depends on it (ages are measured in days).
#include <compare>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace pvediff::store {

struct BackupTime {
    // Wall-clock fields exactly as in the name.
    int year = 1970;
    int month = 1;   // 1..12
    int day = 1;     // 1..31
    int hour = 0;    // 0..23
    int minute = 0;  // 0..59
    int second = 0;  // 0..59
    // The instant in the process's TZ (see above), fixed when parsed or made.
    std::time_t time = 0;

    // Ordered by instant, then by wall-clock fields, so equal names compare equal.
    friend bool operator==(const BackupTime& a, const BackupTime& b)
    {
        return a.year == b.year && a.month == b.month && a.day == b.day && a.hour == b.hour &&
               a.minute == b.minute && a.second == b.second;
    }
    friend std::strong_ordering operator<=>(const BackupTime& a, const BackupTime& b);
};

// "2026_11_20-01_00_00" (exactly 19 characters, fields in range) or nullopt.
std::optional<BackupTime> parse_backup_time(std::string_view text);
// Back to "YYYY_MM_DD-HH_MM_SS".
std::string format_backup_time(const BackupTime& t);
// From wall-clock fields (validated: throws io::Error when out of range).
BackupTime make_backup_time(int year, int month, int day, int hour, int minute, int second);
// The wall-clock time of an instant in the process's TZ, like vzdump names a backup.
// Its `time` is derived from the fields again (an instant in the second pass of a
// repeated hour gets the first one's), so it equals what parsing the name gives.
BackupTime backup_time_from_instant(std::time_t instant);
// The wall-clock fields to an instant under the DST rules above.
std::time_t local_to_instant(int year, int month, int day, int hour, int minute, int second);
// "2026-11-20 01:00:00" for messages.
std::string display_time(const BackupTime& t);

}  // namespace pvediff::store
