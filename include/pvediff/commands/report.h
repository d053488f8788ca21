// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// How commands speak: one line at a time through a callback, so the cli layer decides
// where lines go (stdout, vzdump's task log through the hook, nowhere with --quiet).
#include <functional>
#include <string>
#include <string_view>

namespace pvediff::commands {

using Report = std::function<void(const std::string& line)>;

// A line safe to print on a terminal or into vzdump's task log: names in a dump dir
// (and inside archives) are chosen by whoever writes there, and a newline or an escape
// sequence in one could forge a line ("ok") or drive the terminal. Control characters
// (C0, DEL, C1), bytes that are not UTF-8 and the backslash are written as escapes:
// \n \r \t \\ and \xHH. Printable text, UTF-8 included, is unchanged.
std::string printable(std::string_view text);

// "1.2 GiB", "35.0 MiB", "812 B"
std::string human_bytes(std::uint64_t bytes);
// "3.2 s", "1 min 12 s"
std::string human_seconds(double seconds);

}  // namespace pvediff::commands
