// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff verify`: every full and every differential, rebuilt in a stream (nothing
// written to disk), checked for content (SHA-256 against the manifest) and structure
// (VMA incl. coverage, tar). Problems are results, not exceptions.
//
// Each result is recorded beside its backup (store/verified_record.h); without `all`,
// a dump dir's backups that were checked ok within verify-every and are unchanged
// since are skipped (and say so), like PBS's verify jobs with ignore-verified and
// outdated-after. A file named on its own is always checked (and not recorded).
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/commands/progress.h"
#include "pvediff/commands/report.h"

namespace pvediff::commands {

struct VerifyItem {
    std::string file;
    std::string kind;  // "full", "differential"
    std::uint64_t file_size = 0;
    std::uint64_t content_size = 0;
    std::string content;  // "ok", "no manifest", "MISMATCH", "-"
    // The kind of content digest compared ("sha256", "vma-items"); empty: none compared.
    std::string content_digest;
    std::string structure;  // verifier summary
    bool ok = false;
    std::vector<std::string> problems;
    std::string dir;  // where `file` is (empty for a path that does not exist)
    // Skipped (not checked) because it was verified ok recently: `ok` is that result.
    bool skipped = false;
    std::string reason;  // why it was checked or skipped ("never verified", "verified recently")
    // When it was last verified: now for a checked one (when recorded), the record's
    // time for a skipped one.
    std::optional<std::time_t> verified_at;
    std::optional<std::time_t> next_due;  // a skipped one: when it will be checked again
};

struct VerifyOptions {
    // Check every backup, whatever its record says (`verify --all`).
    bool all = true;
    // verify-every of a guest (config); 0 = always check.
    std::function<std::chrono::seconds(std::uint32_t vmid)> every_for = [](std::uint32_t) {
        return std::chrono::seconds(std::chrono::hours(24 * 30));
    };
    // Write each result beside its backup.
    bool record = true;
    std::time_t now = std::time(nullptr);
    Progress* progress = nullptr;  // bytes of content checked, of the manifests' total
    std::string tmpdir;            // where scratch files go (scratch_dir.h); empty: beside the backup
};

struct VerifyReport {
    std::vector<VerifyItem> items;
    [[nodiscard]] bool ok() const;
    [[nodiscard]] std::size_t checked() const;
    [[nodiscard]] std::size_t skipped() const;
    [[nodiscard]] std::size_t failed() const;
};

// Each path is a dump dir (every chain in it) or a single full or differential.
VerifyReport verify_paths(const std::vector<std::filesystem::path>& paths, const Report& progress,
                          const VerifyOptions& options = {});

}  // namespace pvediff::commands
