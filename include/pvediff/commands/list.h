// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff list`: the chains of a dump dir as rows (the cli prints them as a table
// or JSON), with what they cost against what vzdump alone would keep.
//
// "What vzdump alone would keep" for a backup (vzdump_size): a full is its own size;
// a differential stands for an archive of its manifest's content size, counted
// compressed at its full's ratio (the full's file size / the full's content size, from
// the full's manifest); without those manifests (the add-on's differentials), as
// large as its full. An orphan differential counts its own size on both sides.
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/store/manifest.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

// The last `pvediff verify` result of a backup (its .pvediff-verified record).
struct VerifiedState {
    std::time_t time = 0;
    bool ok = false;
    // The file is still the one that was verified (size, mtime, manifest); false: it
    // changed since, and the result says nothing about it now.
    bool current = false;
};

struct ListRow {
    std::string guest;  // "qemu 101", for the table
    store::GuestType type = store::GuestType::qemu;
    std::uint32_t vmid = 0;
    std::string file;
    std::string kind;        // "full", "differential", "orphan"
    std::string full;        // a differential's (or orphan's) full, by file name
    std::time_t time = 0;    // the backup's own time
    std::uint64_t size = 0;  // on disk
    double ratio = 0;        // differential size / its full's size
    bool has_manifest = false;
    bool is_protected = false;
    std::string note;                       // "full missing", "no manifest", ...
    std::uint64_t vzdump_size = 0;          // what vzdump alone would keep for it (see above)
    std::optional<VerifiedState> verified;  // nullopt: never verified (or no usable record)
    // The kind of content digest its manifest records; nullopt: no (readable) manifest.
    std::optional<store::ContentDigest> content_digest;
};

struct SpaceTotals {
    std::size_t backups = 0;
    std::uint64_t size = 0;         // what pvediff keeps
    std::uint64_t vzdump_size = 0;  // what vzdump alone would keep
};

struct GuestListing {
    store::GuestType type = store::GuestType::qemu;
    std::uint32_t vmid = 0;
    SpaceTotals totals;
};

struct Listing {
    std::filesystem::path dir;
    std::vector<ListRow> rows;
    std::vector<GuestListing> guests;
    SpaceTotals totals;
};

Listing list_dump_dir(const std::filesystem::path& dir, std::optional<std::uint32_t> vmid);

}  // namespace pvediff::commands
