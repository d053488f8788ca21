// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A dump dir as pvediff sees it: one listing (no recursion), every entry classified
// by name (entry_name.h), grouped per guest (type, VMID) into chains of one full and
// its differentials, with sidecars attached to their backup. What cannot be attached
// is reported apart: differentials whose full is gone, sidecars whose backup is gone,
// logs of failed runs, files in progress. Newest first, like PVE lists backups.
//
// A scan is a snapshot: anything that changes a chain must hold the guest's lock
// (lock.h) and scan again under it.
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/store/entry_name.h"
#include "pvediff/store/names.h"

namespace pvediff::store {

struct DirEntry {
    std::string name;
    EntryName parsed;
    bool is_directory = false;
    std::uint64_t size = 0;  // 0 for directories
    std::time_t mtime = 0;
};

struct Sidecars {
    std::optional<std::string> log;  // vzdump's task log of the run that made the backup
    std::optional<std::string> notes;
    std::optional<std::string> protected_marker;
    std::optional<std::string> manifest;
    std::optional<std::string> index;
    std::optional<std::string> restored_marker;
    std::optional<std::string> verified;      // the last verify result (verified_suffix)
    std::optional<std::string> nbd_changed;   // backup --nbd's changed-cluster map
    std::optional<std::string> vma_clusters;  // per-cluster records (vma_clusters_suffix)

    [[nodiscard]] bool is_protected() const { return protected_marker.has_value(); }
    // Written by `restore --pve-name` (restored_suffix): a copy, not a new backup.
    [[nodiscard]] bool is_restored_copy() const { return restored_marker.has_value(); }
    // The sidecars that go when the backup goes: log, notes, manifest, index, the
    // restored marker, the verify record, the changed-cluster map, the cluster records. Never the .protected
    // marker (a protected backup is never removed).
    [[nodiscard]] std::vector<std::string> removable_files() const;
};

struct FullBackup {
    std::string file;
    BackupName name;
    std::uint64_t size = 0;
    std::time_t mtime = 0;
    Sidecars sidecars;
    // A pvediff temporary file for this very name exists: another run is replacing it
    // (or crashed doing so). Not a usable base until that is resolved.
    bool being_replaced = false;
};

struct DifferentialBackup {
    std::string file;
    DifferentialName name;
    std::uint64_t size = 0;
    std::time_t mtime = 0;
    Sidecars sidecars;
};

struct Chain {
    FullBackup full;
    std::vector<DifferentialBackup> differentials;  // newest first
};

struct GuestBackups {
    GuestKey guest;
    std::vector<Chain> chains;                             // newest full first
    std::vector<DifferentialBackup> orphan_differentials;  // their full is gone; newest first
    std::vector<DirEntry> orphan_sidecars;  // notes/protected/manifest/index of a missing backup
    std::vector<DirEntry> unattached_logs;  // logs of runs that left no backup (failed)
    std::vector<DirEntry> in_progress;      // *.dat, *.tmp, pvediff temp files of this guest
};

struct DumpDir {
    std::filesystem::path path;
    std::vector<GuestBackups> guests;   // by VMID, then type
    std::vector<DirEntry> in_progress;  // in-progress entries that name no guest
    std::vector<DirEntry> other;        // everything else (never touched)

    [[nodiscard]] const GuestBackups* find(GuestKey guest) const;
};

// Throws io::Error ("cannot read directory '<dir>': ...") if the listing fails.
DumpDir scan_dump_dir(const std::filesystem::path& dir);

// Every backup of a guest, fulls and differentials, newest first: what prune and
// list walk. Pointers into `guest`, valid while it lives.
struct BackupRef {
    const FullBackup* full = nullptr;                  // set for a full
    const DifferentialBackup* differential = nullptr;  // set for a differential
    const Chain* chain = nullptr;                      // null for an orphan differential
    [[nodiscard]] const std::string& file() const { return full ? full->file : differential->file; }
    [[nodiscard]] const BackupTime& time() const { return full ? full->name.time : differential->name.time; }
    [[nodiscard]] const Sidecars& sidecars() const { return full ? full->sidecars : differential->sidecars; }
};
std::vector<BackupRef> all_backups(const GuestBackups& guest);

}  // namespace pvediff::store
