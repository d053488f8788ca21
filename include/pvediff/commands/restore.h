// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff restore`: write the archive a differential (or a full) stands for.
// Output starts as soon as the first window is decoded (no pre-pass over the full), so
// `pvediff restore X -o - | qmrestore - VMID` keeps its reader fed. The content
// SHA-256 is checked against the manifest when there is one; a full whose content is
// not the one the differential was made against is refused before anything is written.
#include <filesystem>
#include <optional>
#include <string>

#include "pvediff/commands/report.h"
#include "pvediff/io/codec.h"

namespace pvediff::commands {

struct RestoreOptions {
    std::filesystem::path file;            // a differential or a full
    std::string output;                    // a path, or "-" for standard output
    std::optional<io::Codec> compress;     // default: raw to stdout, like the original to a file
    std::optional<std::filesystem::path> pve_dir;  // write a standard-named archive here
};

struct RestoreResult {
    std::filesystem::path written;  // empty for stdout
    std::uint64_t content_size = 0;
    bool checked_against_manifest = false;
};

RestoreResult restore(const RestoreOptions& options, const Report& report);

}  // namespace pvediff::commands
