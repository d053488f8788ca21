// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/retention.h"

#include <signal.h>

#include <cerrno>
#include <map>
#include <set>

#include "pvediff/io/atomic_file.h"
#include "pvediff/store/policy.h"

namespace pvediff::store {
namespace {

enum class Mark { none, keep, remove, protect, restored };

struct Candidate {
    BackupRef ref;
    std::tm local{};
    Mark mark = Mark::none;
    std::string reason;
};

using PeriodOf = std::string (*)(const std::tm&, std::size_t);

// strftime with a literal pattern at each call site, so the compiler checks it.
#define PVEDIFF_PERIOD_ID(name, pattern)                                   \
    std::string name(const std::tm& t, std::size_t)                        \
    {                                                                      \
        char buf[64];                                                      \
        const std::size_t n = std::strftime(buf, sizeof buf, pattern, &t); \
        return std::string(buf, n);                                        \
    }

std::string last_id(const std::tm&, std::size_t index)
{
    return std::to_string(index);
}
PVEDIFF_PERIOD_ID(hourly_id, "%Y-%m-%d %H:00")
PVEDIFF_PERIOD_ID(daily_id, "%Y-%m-%d")
PVEDIFF_PERIOD_ID(weekly_id, "%G-W%V")  // ISO 8601 week and its year, like vzdump
PVEDIFF_PERIOD_ID(monthly_id, "%Y-%m")
PVEDIFF_PERIOD_ID(yearly_id, "%Y")
#undef PVEDIFF_PERIOD_ID

// PVE's $prune_mark, step for step.
void mark_rule(std::vector<Candidate>& list, unsigned count, const char* rule, PeriodOf id_of)
{
    if (count == 0) {
        return;
    }
    std::set<std::string> already_included;
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (list[i].mark == Mark::keep) {
            already_included.insert(id_of(list[i].local, i));
        }
    }
    std::set<std::string> newly_included;
    for (std::size_t i = 0; i < list.size(); ++i) {
        Candidate& c = list[i];
        const std::string id = id_of(c.local, i);
        if (c.mark != Mark::none || already_included.contains(id)) {
            continue;
        }
        if (!newly_included.contains(id)) {
            if (newly_included.size() >= count) {
                break;
            }
            newly_included.insert(id);
            c.mark = Mark::keep;
            c.reason = std::string(rule) + (id_of == last_id ? "" : " " + id);
        } else {
            c.mark = Mark::remove;
        }
    }
}

std::vector<std::filesystem::path> paths_of(const std::filesystem::path& dir, const std::string& file,
                                            const Sidecars& sidecars)
{
    std::vector<std::filesystem::path> out{dir / file};
    for (const auto& s : sidecars.removable_files()) {
        out.push_back(dir / s);
    }
    return out;
}

OrphanItem stale_temp(const std::filesystem::path& dir, const DirEntry& e, const PruneOptions& options,
                      bool& listed)
{
    listed = false;
    OrphanItem item;
    // Only pvediff's own temporary files: vzdump's *.dat and *.tmp may belong to a
    // backup running on another node right now.
    if (e.parsed.owner.empty()) {
        return item;
    }
    const std::chrono::seconds age(options.now - e.mtime);
    if (age < options.stale_temp_age) {
        return item;
    }
    // However old, a temporary of a process alive on this host is a live run's
    // (a long restore, a backup decoding its differential again).
    if (const auto owner = io::temp_owner(e.name);
        owner && owner->host == io::temp_host_tag() && (::kill(owner->pid, 0) == 0 || errno == EPERM)) {
        return item;
    }
    listed = true;
    item.file = e.name;
    item.kind = OrphanKind::temp_file;
    item.reason = "pvediff temporary file, " + format_age(age) + " old: left by a run that failed";
    item.paths_to_delete.push_back(dir / e.name);
    return item;
}

}  // namespace

std::string_view orphan_kind_name(OrphanKind kind)
{
    switch (kind) {
        case OrphanKind::differential:
            return "differential";
        case OrphanKind::sidecar:
            return "sidecar";
        case OrphanKind::temp_file:
            return "temporary file";
    }
    return "?";
}

std::size_t GuestPrunePlan::kept() const
{
    std::size_t n = 0;
    for (const auto& i : items) {
        n += i.action == PruneAction::keep ? 1 : 0;
    }
    return n;
}

std::size_t GuestPrunePlan::removed() const
{
    return items.size() - kept();
}

std::vector<std::filesystem::path> GuestPrunePlan::removal_order() const
{
    std::vector<std::filesystem::path> out;
    for (const bool fulls : {false, true}) {
        for (const auto& i : items) {
            if (i.action == PruneAction::remove && i.is_full == fulls) {
                out.insert(out.end(), i.paths_to_delete.begin(), i.paths_to_delete.end());
            }
        }
    }
    return out;
}

GuestPrunePlan plan_guest_prune(const std::filesystem::path& dump_dir, const GuestBackups& guest,
                                const KeepOptions& keep, const PruneOptions& options)
{
    GuestPrunePlan plan;
    plan.guest = guest.guest;
    plan.keep = keep;

    std::vector<Candidate> list;
    for (const BackupRef& ref : all_backups(guest)) {
        if (ref.chain == nullptr) {
            continue;  // orphan differentials: listed below, never counted
        }
        Candidate c{ref, {}, Mark::none, {}};
        const std::time_t t = ref.time().time;
        ::localtime_r(&t, &c.local);
        if (ref.sidecars().is_protected()) {
            c.mark = Mark::protect;
            c.reason = "protected";
        } else if (ref.sidecars().is_restored_copy()) {
            // Written by `restore --pve-name`: a copy of a backup that is counted
            // already. Neither counted nor removed: the administrator made it and
            // removes it when done.
            c.mark = Mark::restored;
            c.reason = "restored copy: not counted, left for you to remove";
        }
        list.push_back(std::move(c));
    }

    if (keep.keeps_everything()) {
        for (auto& c : list) {
            if (c.mark == Mark::none) {
                c.mark = Mark::keep;
                c.reason = keep.all ? "keep-all" : "no keep option: everything is kept";
            }
        }
    } else {
        mark_rule(list, keep.last, "keep-last", last_id);
        mark_rule(list, keep.hourly, "keep-hourly", hourly_id);
        mark_rule(list, keep.daily, "keep-daily", daily_id);
        mark_rule(list, keep.weekly, "keep-weekly", weekly_id);
        mark_rule(list, keep.monthly, "keep-monthly", monthly_id);
        mark_rule(list, keep.yearly, "keep-yearly", yearly_id);
        for (auto& c : list) {
            if (c.mark == Mark::none || c.mark == Mark::remove) {
                c.mark = Mark::remove;
                c.reason = "not selected by any keep option";
            }
        }
    }

    // Chain awareness. The list is newest first, so the newest differential that
    // needs a full names it.
    std::map<const FullBackup*, std::size_t> full_index;
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (list[i].ref.full != nullptr) {
            full_index[list[i].ref.full] = i;
        }
    }
    for (const auto& c : list) {
        if (c.ref.differential == nullptr || c.mark == Mark::remove) {
            continue;
        }
        Candidate& full = list[full_index.at(&c.ref.chain->full)];
        if (full.mark == Mark::remove) {
            full.mark = Mark::keep;
            full.reason = "needed by " + c.ref.differential->file;
        }
    }

    // The newest archive that has not been through `pvediff backup` yet (no
    // manifest, no differentials; maybe older than differentials made meanwhile)
    // may be the one a backup waits to convert: never removed under it.
    for (auto& c : list) {
        if (c.ref.full != nullptr && c.ref.chain->differentials.empty() && !c.ref.sidecars().manifest &&
            c.mark != Mark::restored) {
            if (c.mark == Mark::remove) {
                c.mark = Mark::keep;
                c.reason = "newest archive not through pvediff backup yet";
            }
            break;
        }
    }

    for (const auto& c : list) {
        PruneItem item;
        item.file = c.ref.file();
        item.is_full = c.ref.full != nullptr;
        item.time = c.ref.time();
        item.is_protected = c.mark == Mark::protect;
        item.action = c.mark == Mark::remove ? PruneAction::remove : PruneAction::keep;
        item.reason = c.reason;
        if (item.action == PruneAction::remove) {
            item.paths_to_delete = paths_of(dump_dir, item.file, c.ref.sidecars());
        }
        plan.items.push_back(std::move(item));
    }

    for (const auto& diff : guest.orphan_differentials) {
        OrphanItem o;
        o.file = diff.file;
        o.kind = OrphanKind::differential;
        o.reason = "its full " + diff.name.full_file + " is gone";
        if (diff.sidecars.is_protected()) {
            o.removable = false;
            o.reason += "; protected: kept";
        } else {
            o.paths_to_delete = paths_of(dump_dir, diff.file, diff.sidecars);
        }
        plan.orphans.push_back(std::move(o));
    }
    for (const auto& e : guest.orphan_sidecars) {
        OrphanItem o;
        o.file = e.name;
        o.kind = OrphanKind::sidecar;
        o.reason = "its backup " + e.parsed.owner + " is gone";
        if (e.parsed.kind == EntryKind::protected_marker) {
            o.removable = false;
            o.reason += "; a .protected marker is never removed";
        } else {
            o.paths_to_delete.push_back(dump_dir / e.name);
        }
        plan.orphans.push_back(std::move(o));
    }
    for (const auto& e : guest.in_progress) {
        bool listed = false;
        OrphanItem o = stale_temp(dump_dir, e, options, listed);
        if (listed) {
            plan.orphans.push_back(std::move(o));
        }
    }
    return plan;
}

PrunePlan plan_prune(const DumpDir& dir, const std::function<KeepOptions(GuestKey)>& keep_for,
                     const PruneOptions& options)
{
    PrunePlan plan;
    for (const auto& guest : dir.guests) {
        plan.guests.push_back(plan_guest_prune(dir.path, guest, keep_for(guest.guest), options));
    }
    for (const auto& e : dir.in_progress) {
        bool listed = false;
        OrphanItem o = stale_temp(dir.path, e, options, listed);
        if (listed) {
            plan.orphans.push_back(std::move(o));
        }
    }
    return plan;
}

}  // namespace pvediff::store
