// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// How commands speak: one line at a time through a callback, so the cli layer decides
// where lines go (stdout, vzdump's task log through the hook, nowhere with --quiet).
#include <functional>
#include <string>

namespace pvediff::commands {

using Report = std::function<void(const std::string& line)>;

// "1.2 GiB", "35.0 MiB", "812 B"
std::string human_bytes(std::uint64_t bytes);
// "3.2 s", "1 min 12 s"
std::string human_seconds(double seconds);

}  // namespace pvediff::commands
