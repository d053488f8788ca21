// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff restore`: write the archive a differential (or a full) stands for.
// Output starts as soon as the first window is decoded (no pre-pass over the full), so
// `pvediff restore X -o - | qmrestore - VMID` keeps its reader fed. The content
// SHA-256 is checked against the manifest when there is one; a full whose content is
// not the one the differential was made against is refused before anything is written.
//
// What is written follows what the user named (no surprise compression):
//   -o FILE       compressed as FILE's extension says (.vma/.tar and anything else:
//                 raw; .zst, .lzo, .gz/.tgz: that codec); --compress may only agree
//   -o -          raw unless --compress
//   --pve-name D  D/<standard vzdump name> at the backup's time, compressed like the
//                 backup was (the differential's manifest, else its extension), with
//                 the backup's .notes and a "<archive>.pvediff-restored" marker, so
//                 backup and prune know the copy is not a new backup
// The backup is a file, or found by guest and time in a dump dir (store/backup_lookup.h).
// Contradictory or ambiguous requests throw UsageError.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/commands/progress.h"
#include "pvediff/commands/report.h"
#include "pvediff/io/codec.h"
#include "pvediff/store/backup_lookup.h"

namespace pvediff::commands {

// `--dumpdir DIR --vmid N [--type T] --at WHEN | --latest`
struct BackupSelection {
    std::vector<std::filesystem::path> dumpdirs;  // searched in order; the first with a match wins
    std::uint32_t vmid = 0;
    std::optional<store::GuestType> type;
    store::TimeSelector when;
};

struct RestoreOptions {
    std::filesystem::path file;  // a differential or a full (or empty: `select`)
    std::optional<BackupSelection> select;
    std::string output;                            // a path, or "-" for standard output
    std::optional<io::Codec> compress;             // default: raw to stdout, like the original to a file
    std::optional<std::filesystem::path> pve_dir;  // write a standard-named archive here
    Progress* progress = nullptr;                  // bytes of content written; null: none
    std::string tmpdir;  // where scratch files go (scratch_dir.h); empty: beside the output (or backup)
};

struct RestoreResult {
    std::filesystem::path source;       // the backup restored
    std::filesystem::path written;      // empty for stdout
    io::Codec codec = io::Codec::none;  // of what was written
    std::uint64_t content_size = 0;
    bool checked_against_manifest = false;
};

RestoreResult restore(const RestoreOptions& options, const Report& report);

// The codec a file name's extension asks for: none for .vma/.tar, zstd/lzo/gzip for
// .zst/.lzo/.gz/.tgz, nullopt for any other name. UsageError for .bz2.
std::optional<io::Codec> codec_for_output_name(const std::string& file_name);
// The backup `select` picks: io::Error when none, UsageError when several guest types match.
std::filesystem::path select_backup(const BackupSelection& select);

}  // namespace pvediff::commands
