// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "pvediff/store/duration.h"

namespace pvediff::store {
namespace {

constexpr std::chrono::seconds max_slack = std::chrono::hours(12);

Decision stays_full(std::string reason)
{
    return Decision{std::nullopt, std::move(reason)};
}

std::string guest_label(const BackupName& n)
{
    return store::guest_label(n.type, n.vmid);
}

// Time from the guest's newest backup before `t` (full or differential) to `t`.
std::optional<std::chrono::seconds> since_previous_backup(const GuestBackups& guest,
                                                          const NewArchive& archive)
{
    std::optional<std::time_t> previous;
    for (const BackupRef& b : all_backups(guest)) {
        if (b.file() == archive.file || b.time().time >= archive.name.time.time) {
            continue;
        }
        if (!previous || b.time().time > *previous) {
            previous = b.time().time;
        }
    }
    if (!previous) {
        return std::nullopt;
    }
    return std::chrono::seconds(archive.name.time.time - *previous);
}

}  // namespace

std::string format_age(std::chrono::seconds age)
{
    std::int64_t s = age.count();
    const char* sign = s < 0 ? "-" : "";
    if (s < 0) {
        s = -s;
    }
    const std::int64_t d = s / 86400;
    const std::int64_t h = s % 86400 / 3600;
    const std::int64_t m = s % 3600 / 60;
    std::string out = sign;
    if (d > 0) {
        out += std::to_string(d) + "d";
        if (h > 0) {
            out += " " + std::to_string(h) + "h";
        }
    } else if (h > 0) {
        out += std::to_string(h) + "h";
        if (m > 0) {
            out += " " + std::to_string(m) + "m";
        }
    } else if (m > 0) {
        out += std::to_string(m) + "m";
    } else {
        out += std::to_string(s % 60) + "s";
    }
    return out;
}

std::chrono::seconds schedule_slack(std::optional<std::chrono::seconds> since_previous)
{
    if (!since_previous || *since_previous <= std::chrono::seconds(0)) {
        return max_slack;
    }
    return std::min(max_slack, *since_previous / 2);
}

Decision decide_backup(const DumpDir& dir, const NewArchive& archive, const EffectiveSettings& settings)
{
    return decide_backup(dir.find(GuestKey{archive.name.type, archive.name.vmid}), archive, settings);
}

Decision decide_backup(const GuestBackups* guest, const NewArchive& archive,
                       const EffectiveSettings& settings)
{
    const BackupName& n = archive.name;
    if (settings.fullbackup.count() <= 0) {
        return stays_full("fullbackup is 0: every backup stays a full");
    }
    if (archive.is_protected) {
        return stays_full("the archive is protected: never converted, it stays a full");
    }
    if (n.codec == ArchiveCodec::bzip2) {
        return stays_full(
            "the archive is compressed with bzip2, which pvediff does not read: it stays a full");
    }
    const FullBackup* newest = nullptr;
    if (guest != nullptr) {
        for (const Chain& chain : guest->chains) {
            // Converted out of order (a later archive was made a differential against
            // it first): deleting it would leave those differentials without their full.
            if (!archive.file.empty() && chain.full.file == archive.file && !chain.differentials.empty()) {
                return stays_full(
                    fmt::format("the archive is already the full of {} differential(s): it stays a full",
                                chain.differentials.size()));
            }
        }
        for (const Chain& chain : guest->chains) {
            const FullBackup& f = chain.full;
            if (f.file == archive.file || f.name.time.time >= n.time.time) {
                continue;  // the archive itself, or not older than it
            }
            if (f.sidecars.is_restored_copy()) {
                continue;  // a copy the administrator will delete: never a base
            }
            if (newest == nullptr || f.name.time > newest->name.time) {
                newest = &f;
            }
        }
    }
    if (newest == nullptr) {
        return stays_full("no earlier full of " + guest_label(n) + " in the dump dir: it stays a full");
    }
    const std::string& base = newest->file;
    if (newest->name.format != n.format) {
        return stays_full("the newest full " + base + " is a " +
                          std::string(archive_format_name(newest->name.format)) + " archive, this one a " +
                          std::string(archive_format_name(n.format)) + ": it stays a full");
    }
    if (!to_io_codec(newest->name.codec)) {
        return stays_full("the newest full " + base + " is compressed with " +
                          std::string(archive_codec_name(newest->name.codec)) +
                          ", which pvediff does not read: it stays a full");
    }
    if (newest->being_replaced) {
        return stays_full("the newest full " + base +
                          " has a pvediff temporary file (another run is replacing "
                          "it, or one failed): it stays a full");
    }
    if (newest->size == 0) {
        return stays_full("the newest full " + base + " is empty: it stays a full");
    }
    const std::chrono::seconds age(n.time.time - newest->name.time.time);
    const std::chrono::seconds slack = schedule_slack(since_previous_backup(*guest, archive));
    const std::chrono::seconds limit = settings.fullbackup - slack;
    const std::string rule =
        "fullbackup " + format_duration(settings.fullbackup) + " less " + format_age(slack) + " slack";
    if (age >= limit) {
        return stays_full("the newest full " + base + " is " + format_age(age) + " old (" + rule +
                          "): this backup stays a new full");
    }
    return Decision{*newest, "differential against " + base + ", " + format_age(age) +
                                 " old (new full due at " + format_age(limit) + ", " + rule + ")"};
}

SizeCheck check_differential_size(std::uint64_t differential_bytes, std::uint64_t full_bytes,
                                  double max_ratio)
{
    if (full_bytes == 0) {
        return SizeCheck{false, "the full is empty: the differential is discarded, the archive stays a full"};
    }
    const double ratio = static_cast<double>(differential_bytes) / static_cast<double>(full_bytes);
    char text[512];
    std::snprintf(text, sizeof text, "%.1f%% of its full (limit %.1f%%)", std::min(ratio, 1e6) * 100.0,
                  max_ratio * 100.0);
    if (ratio > max_ratio) {
        return SizeCheck{
            false, "the differential is " + std::string(text) + ": discarded, the archive stays a full"};
    }
    return SizeCheck{true, "the differential is " + std::string(text)};
}

}  // namespace pvediff::store
