// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff verify`: every full and every differential, rebuilt in a stream (nothing
// written to disk), checked for content (SHA-256 against the manifest) and structure
// (VMA incl. coverage, tar). Problems are results, not exceptions.
#include <filesystem>
#include <string>
#include <vector>

#include "pvediff/commands/report.h"

namespace pvediff::commands {

struct VerifyItem {
    std::string file;
    std::string kind;       // "full", "differential"
    std::uint64_t file_size = 0;
    std::uint64_t content_size = 0;
    std::string content;    // "ok", "no manifest", "MISMATCH", "-"
    std::string structure;  // verifier summary
    bool ok = false;
    std::vector<std::string> problems;
    std::string dir;        // where `file` is (empty for a path that does not exist)
};

struct VerifyReport {
    std::vector<VerifyItem> items;
    [[nodiscard]] bool ok() const;
};

// Each path is a dump dir (every chain in it) or a single full or differential.
VerifyReport verify_paths(const std::vector<std::filesystem::path>& paths, const Report& progress);

}  // namespace pvediff::commands
