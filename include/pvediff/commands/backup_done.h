// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A re-run of `pvediff backup ARCHIVE` whose work is already done (the archive was
// replaced by a differential, e.g. the hook ran and then cron ran the same file) is
// a success, not an error: scripts and vzdump's task log should not see a failure.
#include <filesystem>
#include <optional>

namespace pvediff::commands {

// When `archive` no longer exists and its dump dir holds the differential standing
// for it (same guest, time and format): that differential's path.
std::optional<std::filesystem::path> replaced_by(const std::filesystem::path& archive);

}  // namespace pvediff::commands
