// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/backup_lookup.h"

#include <cstdio>

namespace pvediff::store {

namespace {

bool all_digits(std::string_view s)
{
    for (const char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return !s.empty();
}

int number(std::string_view s)
{
    int n = 0;
    for (const char c : s) {
        n = n * 10 + (c - '0');
    }
    return n;
}

// "YYYY?MM?DD" with the given separator.
bool parse_date(std::string_view s, char sep, TimeSelector& out)
{
    if (s.size() != 10 || s[4] != sep || s[7] != sep || !all_digits(s.substr(0, 4)) ||
        !all_digits(s.substr(5, 2)) || !all_digits(s.substr(8, 2))) {
        return false;
    }
    out.year = number(s.substr(0, 4));
    out.month = number(s.substr(5, 2));
    out.day = number(s.substr(8, 2));
    return out.month >= 1 && out.month <= 12 && out.day >= 1 && out.day <= 31;
}

bool parse_clock(std::string_view s, char sep, TimeSelector& out)
{
    if (s.size() != 8 || s[2] != sep || s[5] != sep || !all_digits(s.substr(0, 2)) ||
        !all_digits(s.substr(3, 2)) || !all_digits(s.substr(6, 2))) {
        return false;
    }
    out.hour = number(s.substr(0, 2));
    out.minute = number(s.substr(3, 2));
    out.second = number(s.substr(6, 2));
    return out.hour <= 23 && out.minute <= 59 && out.second <= 59;
}

}  // namespace

std::optional<TimeSelector> parse_time_selector(std::string_view text)
{
    TimeSelector s;
    if (text.size() == 10) {
        s.date_only = true;
        return parse_date(text, '-', s) ? std::optional(s) : std::nullopt;
    }
    if (text.size() != 19) {
        return std::nullopt;
    }
    const bool iso = (text[10] == 'T' || text[10] == ' ') && parse_date(text.substr(0, 10), '-', s) &&
                     parse_clock(text.substr(11), ':', s);
    const bool vzdump = !iso && text[10] == '-' && parse_date(text.substr(0, 10), '_', s) &&
                        parse_clock(text.substr(11), '_', s);
    return iso || vzdump ? std::optional(s) : std::nullopt;
}

std::string describe_selector(const TimeSelector& s)
{
    if (s.latest) {
        return "the latest";
    }
    char buf[32];
    if (s.date_only) {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", s.year, s.month, s.day);
    } else {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", s.year, s.month, s.day, s.hour,
                      s.minute, s.second);
    }
    return buf;
}

bool selector_matches(const TimeSelector& s, const BackupTime& t)
{
    if (s.latest) {
        return true;
    }
    const bool day = t.year == s.year && t.month == s.month && t.day == s.day;
    return day && (s.date_only || (t.hour == s.hour && t.minute == s.minute && t.second == s.second));
}

std::vector<FoundBackup> find_backups(const DumpDir& dir, std::uint32_t vmid, std::optional<GuestType> type,
                                      const TimeSelector& selector)
{
    std::vector<FoundBackup> found;
    for (const GuestBackups& guest : dir.guests) {
        if (guest.guest.vmid != vmid || (type && guest.guest.type != *type)) {
            continue;
        }
        std::optional<BackupRef> best;
        for (const BackupRef& ref : all_backups(guest)) {
            if (!ref.full && !ref.chain) {
                continue;  // an orphan differential: nothing to rebuild it from
            }
            if (!selector_matches(selector, ref.time())) {
                continue;
            }
            if (!best || best->time() < ref.time() ||
                (best->time() == ref.time() && ref.full && !best->full)) {
                best = ref;
            }
        }
        if (best) {
            found.push_back({guest.guest, *best});
        }
    }
    return found;
}

}  // namespace pvediff::store
