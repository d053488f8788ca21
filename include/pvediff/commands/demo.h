// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff demo`: a week of nightly backups of a VM and a container, made from
// generated data in a temporary dump dir, run through backup, list, verify, restore
// and prune, with the space saved. Removes its directory unless asked to keep it.
#include <filesystem>
#include <optional>

#include "pvediff/commands/report.h"

namespace pvediff::commands {

struct DemoOptions {
    std::optional<std::filesystem::path> keep_dir;  // build the dump dir here and keep it
    unsigned days = 7;
    std::uint64_t disk_bytes = 48ULL << 20;
};

// Returns true when every step checked out.
bool run_demo(const DemoOptions& options, const Report& say);

}  // namespace pvediff::commands
