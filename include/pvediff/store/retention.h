// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The plan `pvediff prune` carries out, as data: --dry-run prints it, the commands
// layer executes it (under each guest's lock, after scanning again).
//
// vzdump's keep-* semantics (PVE::Storage::prune_mark_backup_group), applied per guest
// (type + VMID) to fulls and differentials alike:
// - backups newest first; keep-last, then keep-hourly, -daily, -weekly (ISO week),
//   -monthly, -yearly; each rule skips periods that already hold a kept backup, keeps
//   the newest backup of each further period until it has kept N periods, and marks
//   the other backups of those periods for removal (later rules do not revive them);
// - periods are taken in local time, like vzdump's;
// - protected backups (a .protected marker) are never removed and count for no rule;
// - no keep option at all (or keep-all) keeps everything.
// Then chain-aware: a full that would go stays while any differential that stays
// (kept or protected) was made against it: "needed by <differential>".
//
// A backup that goes takes its sidecars along: vzdump's .log and .notes, pvediff's
// .pvediff-manifest and .pvediff-index; never a .protected marker. Orphans (a
// differential whose full is gone, a sidecar whose backup is gone, a pvediff
// temporary file older than `stale_temp_age` whose pid is not alive on this host)
// are listed apart; the caller removes them only when asked. vzdump's own *.dat /
// *.tmp and logs of failed runs are never listed: they are vzdump's business.
// An archive written by `restore --pve-name` (restored_suffix) is kept and not
// counted by any keep option; the newest archive with neither manifest nor
// differentials (not through `pvediff backup` yet) is kept.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pvediff/store/config.h"
#include "pvediff/store/dump_dir.h"

namespace pvediff::store {

enum class PruneAction { keep, remove };

struct PruneItem {
    std::string file;
    bool is_full = false;
    BackupTime time;
    bool is_protected = false;
    PruneAction action = PruneAction::keep;
    // "keep-daily 2026-11-20", "protected", "needed by <file>", "keep-all",
    // "not selected by any keep option"
    std::string reason;
    // When removed: the backup first, then its sidecars (full paths).
    std::vector<std::filesystem::path> paths_to_delete;
};

enum class OrphanKind { differential, sidecar, temp_file };
std::string_view orphan_kind_name(OrphanKind kind);

struct OrphanItem {
    std::string file;
    OrphanKind kind = OrphanKind::sidecar;
    std::string reason;
    bool removable = true;                               // false for anything protected
    std::vector<std::filesystem::path> paths_to_delete;  // empty when !removable
};

struct GuestPrunePlan {
    GuestKey guest;
    KeepOptions keep;
    std::vector<PruneItem> items;  // every full and chained differential, newest first
    std::vector<OrphanItem> orphans;

    [[nodiscard]] std::size_t kept() const;
    [[nodiscard]] std::size_t removed() const;
    // Every path of the removed backups, differentials before fulls, so an
    // interrupted prune never leaves a differential without its full.
    [[nodiscard]] std::vector<std::filesystem::path> removal_order() const;
};

struct PruneOptions {
    std::time_t now = 0;  // for the age of temporary files
    std::chrono::seconds stale_temp_age = std::chrono::hours(24);
};

GuestPrunePlan plan_guest_prune(const std::filesystem::path& dump_dir, const GuestBackups& guest,
                                const KeepOptions& keep, const PruneOptions& options);

struct PrunePlan {
    std::vector<GuestPrunePlan> guests;  // in the scan's order
    std::vector<OrphanItem> orphans;     // stale pvediff temp files that name no guest
};

// `keep_for` gives each guest's retention (e.g. config.effective_for(vmid, cli).keep).
PrunePlan plan_prune(const DumpDir& dir, const std::function<KeepOptions(GuestKey)>& keep_for,
                     const PruneOptions& options);

}  // namespace pvediff::store
