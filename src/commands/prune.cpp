// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/prune.h"

#include <ctime>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/guest_lock.h"
#include "pvediff/store/retention.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

PruneSummary prune(const PruneRequest& request, const Report& report)
{
    const fs::path dir = fs::absolute(request.dir);
    PruneSummary summary;
    store::PruneOptions options;
    options.now = std::time(nullptr);
    const std::string verb = request.dry_run ? "would remove" : "removed";

    for (const auto& listed : store::scan_dump_dir(dir).guests) {
        const store::GuestKey key = listed.guest;
        if (request.vmid && key.vmid != *request.vmid) {
            continue;
        }
        // Plan again under the lock: the listing above may be stale by now.
        const store::GuestLock lock =
            request.dry_run ? store::GuestLock::for_reading(dir, key.type, key.vmid, request.lock_timeout)
                            : store::GuestLock(dir, key.type, key.vmid, request.lock_timeout);
        const store::DumpDir scanned = store::scan_dump_dir(dir);
        const store::GuestBackups* guest = scanned.find(key);
        if (guest == nullptr) {
            continue;
        }
        const store::KeepOptions keep = request.keep_for(key.vmid);
        const store::GuestPrunePlan plan = store::plan_guest_prune(dir, *guest, keep, options);
        const std::string who = store::guest_label(key.type, key.vmid);
        report(who + ": " + keep.str());
        for (const auto& item : plan.items) {
            report(std::string("  ") + (item.action == store::PruneAction::keep ? "keep   " : "remove ") +
                   item.file + " (" + item.reason + ")");
            summary.lines.push_back({key.type, key.vmid, item.file,
                                     item.action == store::PruneAction::keep ? "keep" : "remove",
                                     item.reason});
        }
        for (const auto& o : plan.orphans) {
            report("  orphan " + o.file + " (" + std::string(store::orphan_kind_name(o.kind)) + ": " +
                   o.reason + ")" + (request.remove_orphans && o.removable ? "" : ", left in place"));
            summary.lines.push_back({key.type, key.vmid, o.file,
                                     request.remove_orphans && o.removable ? "remove-orphan" : "orphan",
                                     std::string(store::orphan_kind_name(o.kind)) + ": " + o.reason});
        }
        summary.kept += plan.kept();
        summary.removed += plan.removed();
        summary.orphans += plan.orphans.size();
        if (request.dry_run) {
            continue;
        }
        std::vector<fs::path> doomed = plan.removal_order();
        if (request.remove_orphans) {
            for (const auto& o : plan.orphans) {
                doomed.insert(doomed.end(), o.paths_to_delete.begin(), o.paths_to_delete.end());
            }
        }
        for (const auto& p : doomed) {
            io::remove_entry(p);
        }
        if (!doomed.empty()) {
            io::fsync_dir(dir.string());
        }
    }
    report(fmt::format("{} kept, {} {}{}", summary.kept, summary.removed, verb,
                       summary.orphans ? fmt::format(", {} orphans", summary.orphans) : ""));
    return summary;
}

}  // namespace pvediff::commands
