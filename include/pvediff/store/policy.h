// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Whether a new archive stays a full or becomes a differential, and against which
// full. The decision comes with one line for vzdump's task log.
//
// The rule: a differential against the newest full of the same guest (type and
// VMID) that is older than the new archive, if that full is younger than
// `fullbackup` less a slack; otherwise the archive stays a full and starts a chain:
//
//     differential  <=>  new.time - full.time < fullbackup - slack
//
// The slack absorbs jitter in when a job starts (a full named 01:05 must not push
// next week's full named 01:02 to the day after). It is half the time since the
// guest's previous backup (full or differential), at most 12 hours. So:
// - daily backups, fullbackup 7: slack 12 h, limit 6d 12h: fulls on day 0, 7, 14...
//   (the older add-on compared with N days and made its full on day N+1 when the
//   job started a little earlier than the week before);
// - every 6 h, fullbackup 36h: slack 3 h, limit 33 h: a full every 36 h;
// - hourly, fullbackup 7: slack 30 min: a full every 7 days, not every 6.5.
// Ages are instants (time_t) from the names' local times, so a DST change makes a
// day 23 or 25 hours long; the slack covers that too.
//
// The archive also stays a full when: fullbackup is 0; the new archive is protected
// (never converted; a protected full is a fine base though); there is no earlier full;
// the newest earlier full has another format (vma/tar) or a codec pvediff cannot read
// (bzip2), is empty, or has a pvediff temporary file for its very name (another run
// is replacing it); or the new archive itself is bzip2, or is already the full of
// differentials (archives converted out of order). A full without a manifest (as
// the older add-on left them) is a valid base: its checksum is computed when read.
// An archive written by `restore --pve-name` (restored_suffix) is never a base: the
// administrator deletes it when done with it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pvediff/store/config.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/names.h"

namespace pvediff::store {

struct NewArchive {
    BackupName name;
    // Its file name when it is already in the dump dir (then it is never its own
    // base); empty when it arrives on stdin.
    std::string file;
    bool is_protected = false;
};

struct Decision {
    std::optional<FullBackup> base;  // set: make a differential against it
    std::string reason;              // one line for the task log
    [[nodiscard]] bool differential() const { return base.has_value(); }
};

// `guest`: the new archive's guest as scanned under its lock (null: no backups yet).
Decision decide_backup(const GuestBackups* guest, const NewArchive& archive,
                       const EffectiveSettings& settings);
Decision decide_backup(const DumpDir& dir, const NewArchive& archive, const EffectiveSettings& settings);

// The slack described above; `since_previous`: time from the guest's previous backup
// to the new one (nullopt: none).
std::chrono::seconds schedule_slack(std::optional<std::chrono::seconds> since_previous);

// After encoding: a differential larger than max_ratio of its full (file sizes on
// disk, both compressed) is not worth keeping; the archive stays a full.
struct SizeCheck {
    bool keep = true;
    std::string reason;
};
SizeCheck check_differential_size(std::uint64_t differential_bytes, std::uint64_t full_bytes,
                                  double max_ratio);

// "6d 12h", "36h", "45m", "12s" for messages.
std::string format_age(std::chrono::seconds age);

}  // namespace pvediff::store
