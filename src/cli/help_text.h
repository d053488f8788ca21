// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Help that fits an 80-column terminal, `pvediff help [COMMAND]`, and a suggestion
// for a mistyped subcommand.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pvediff::cli {

inline constexpr std::size_t help_width = 80;
inline constexpr std::size_t help_column = 26;

// Reflows every description of `app` and its subcommands so that no help line is
// wider than help_width.
void fit_help_to_width(CLI::App& app);

// The subcommand name `argv` asks for (the first word that is neither an option nor
// the value of --config), when it names no subcommand of `app`.
std::optional<std::string> unknown_subcommand(const CLI::App& app, int argc, char** argv);

// The name in `names` nearest to `word` (edit distance), if it is near enough to be
// a likely typo.
std::optional<std::string> nearest_name(const std::string& word, const std::vector<std::string>& names);

// Adds `pvediff help [COMMAND]`.
void add_help_command(CLI::App& app, std::function<int()>& chosen);

}  // namespace pvediff::cli
