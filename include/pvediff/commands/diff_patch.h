// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff diff` and `pvediff patch`: the delta engine alone on files the user names,
// for scripts and benchmarks, on the same streaming pipeline as backup and restore.
//
// Like stock xdelta3, an existing output is replaced only with --force (`-f`); and
// never, even with --force, when it is one of the command's own inputs (the same
// file, a hard link or a symlink to it): the output would destroy what it is read from.
#include <optional>
#include <string>

#include "pvediff/commands/pipeline.h"
#include "pvediff/commands/progress.h"

namespace pvediff::commands {

struct DiffRequest {
    std::string base;                // the full (any codec)
    std::string target;              // the new archive (any codec)
    std::string output;              // the delta, or "-"
    std::optional<io::Codec> codec;  // of the delta; default: the new archive's
    std::string engine = "default";
    int threads = 1;
    bool force = false;
    std::string tmpdir;  // where scratch files go (scratch_dir.h); empty: beside the full
    // Shows the new archive's bytes as stored (compressed, if it is) of its file size.
    Progress* progress = nullptr;
};
DiffOutcome diff_files(const DiffRequest& request);

struct PatchRequest {
    std::string base;                   // the full
    std::string delta;                  // the delta (any codec), or "-" for stdin
    std::string output;                 // the rebuilt archive, or "-"
    io::Codec codec = io::Codec::none;  // of the output
    bool force = false;
    std::string tmpdir;  // where scratch files go (scratch_dir.h); empty: beside the output
    // Shows the rebuilt content's bytes: a delta does not say how many there will be.
    Progress* progress = nullptr;
};
RebuildOutcome patch_files(const PatchRequest& request);

}  // namespace pvediff::commands
