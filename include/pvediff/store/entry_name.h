// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What a directory entry in a dump dir is, from its name alone. The order of the
// checks is the safety rule: anything that looks temporary or in progress
// (`*.dat`, `*.tmp`, pvediff's `*.pvediff-tmp`) is never a backup, whatever else
// its name says (docs/data-safety.md, rule 4); pvediff's lock files are hidden and never match.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pvediff/store/names.h"

namespace pvediff::store {

enum class EntryKind {
    full,
    differential,
    log,               // vzdump's <base name>.log
    notes,             // <backup>.notes
    protected_marker,  // <backup>.protected
    manifest,          // <backup>.pvediff-manifest
    index,             // <backup>.pvediff-index
    restored_marker,   // <backup>.pvediff-restored: written by `restore --pve-name`
    verified_record,   // <backup>.pvediff-verified: the last `verify` result
    nbd_changed,       // <backup>.pvediff-nbd-changed: clusters changed since its full (backup --nbd)
    vma_clusters,      // <backup>.pvediff-vma-clusters: per-cluster records of a VMA backup
    in_progress,       // *.dat, *.tmp (file or directory), pvediff temp files
    lock,              // .pvediff-lock-<type>-<vmid>
    other,             // anything else: never touched
};

std::string_view entry_kind_name(EntryKind kind);

inline constexpr std::string_view manifest_suffix = ".pvediff-manifest";
inline constexpr std::string_view index_suffix = ".pvediff-index";
inline constexpr std::string_view notes_suffix = ".notes";
inline constexpr std::string_view protected_suffix = ".protected";
inline constexpr std::string_view log_suffix = ".log";
// Marks an archive written by `restore --pve-name`: a copy of a backup that exists
// already, not a backup in progress (backup never converts or "finishes" it, prune
// leaves it to the administrator).
inline constexpr std::string_view restored_suffix = ".pvediff-restored";
// The last `verify` result of a backup (store/verified_record.h); goes with it.
inline constexpr std::string_view verified_suffix = ".pvediff-verified";
// The clusters changed since the full, beside a backup `backup --nbd` wrote
// (commands' nbd_changed_map.h); goes with it.
inline constexpr std::string_view nbd_changed_suffix = ".pvediff-nbd-changed";
// The per-cluster records of a VMA backup (formats/vma_cluster_records.h, which
// spells the same suffix: the store does not know formats); goes with it.
inline constexpr std::string_view vma_clusters_suffix = ".pvediff-vma-clusters";
inline constexpr std::string_view lock_prefix = ".pvediff-lock-";

struct GuestKey {
    GuestType type = GuestType::qemu;
    std::uint32_t vmid = 0;
    friend auto operator<=>(const GuestKey&, const GuestKey&) = default;
};

struct EntryName {
    EntryKind kind = EntryKind::other;
    std::optional<GuestKey> guest;  // when the name says which guest it belongs to
    // full / differential: the parsed name.
    std::optional<BackupName> full;
    std::optional<DifferentialName> differential;
    // notes / protected / manifest / index / restored / verified: the backup file it belongs to.
    // in_progress from pvediff: the final name the temporary file is for.
    std::string owner;
    // log: the time in its name (it belongs to the backup made at that time).
    std::optional<BackupTime> log_time;
};

// `is_directory`: a `*.tmp` directory is vzdump's temp dir; other directories are
// `other` (the scan never recurses).
EntryName classify_entry_name(std::string_view name, bool is_directory = false);

// The lock file of a guest: ".pvediff-lock-qemu-101".
std::string lock_file_name(GuestType type, std::uint32_t vmid);

}  // namespace pvediff::store
