// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Finding a backup by guest and time rather than by file name, for
// `pvediff restore --vmid 101 --at 2026-11-21` (or `--latest`).
//
// What `--at` matches, in the wall-clock time of the names (vzdump's local time):
//   2026-11-21                 a date: the newest backup made that day
//   2026-11-21T01:00:00        a full time stamp (also "2026-11-21 01:00:00" or the
//   2026_11_21-01_00_00        names' own spelling): exactly that backup
// Differentials whose full is gone cannot be restored and are never picked.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pvediff/store/dump_dir.h"

namespace pvediff::store {

struct TimeSelector {
    bool latest = false;     // the newest backup, whatever its time
    bool date_only = false;  // match year, month and day only
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// "latest" is not accepted here (the cli has --latest); nullopt for anything else
// that is not one of the spellings above with fields in range.
std::optional<TimeSelector> parse_time_selector(std::string_view text);
// "2026-11-21" or "2026-11-21 01:00:00" or "the latest", for messages.
std::string describe_selector(const TimeSelector& selector);
bool selector_matches(const TimeSelector& selector, const BackupTime& time);

struct FoundBackup {
    GuestKey guest;
    BackupRef backup;  // points into the DumpDir searched
};

// For each guest with `vmid` (of `type` when given), the backup the selector picks:
// at most one per guest type. At one time stamp a full wins over a differential
// (an interrupted run can leave both; they hold the same content).
std::vector<FoundBackup> find_backups(const DumpDir& dir, std::uint32_t vmid, std::optional<GuestType> type,
                                      const TimeSelector& selector);

}  // namespace pvediff::store
