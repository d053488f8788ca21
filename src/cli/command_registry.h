// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Each cmd_<name>.cpp adds one subcommand: it declares its options on `app` and, when
// the subcommand is chosen, stores the action to run in `chosen`. Parsing and running
// stay apart, so a usage error never starts work.
#include <CLI/CLI.hpp>
#include <functional>

namespace pvediff::cli {

using Action = std::function<int()>;

void add_diff_command(CLI::App& app, Action& chosen);
void add_patch_command(CLI::App& app, Action& chosen);
void add_demo_command(CLI::App& app, Action& chosen);

}  // namespace pvediff::cli
