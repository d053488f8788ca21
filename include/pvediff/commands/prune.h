// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff prune`: vzdump's keep-* retention, chain-aware (store/retention.h). The
// plan is made per guest under that guest's lock from a fresh scan, printed, and
// carried out unless dry_run: differentials before fulls, so an interruption never
// leaves a differential without its full.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/commands/report.h"
#include "pvediff/store/config.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

struct PruneRequest {
    std::filesystem::path dir;
    std::optional<std::uint32_t> vmid;
    bool dry_run = false;
    bool remove_orphans = false;
    // The keep options for a guest (config, then command line).
    std::function<store::KeepOptions(std::uint32_t vmid)> keep_for;
    std::chrono::seconds lock_timeout{3600};
};

// One line of the plan, for machine output.
struct PruneLine {
    store::GuestType type = store::GuestType::qemu;
    std::uint32_t vmid = 0;
    std::string file;
    std::string action;  // "keep", "remove", "orphan" (left in place), "remove-orphan"
    std::string reason;
};

struct PruneSummary {
    std::size_t kept = 0;
    std::size_t removed = 0;
    std::size_t orphans = 0;
    std::vector<PruneLine> lines;
};

PruneSummary prune(const PruneRequest& request, const Report& report);

}  // namespace pvediff::commands
