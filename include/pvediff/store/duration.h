// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Durations as an admin writes them in /etc/pvediff.conf or on the command line:
// a number with an optional unit s, m, h, d or w ("36h", "2d", "2w", "1.5"). A bare
// number takes the unit of the setting (days for fullbackup, like the older add-on;
// seconds for lock-timeout). Fractions are allowed ("1.5" days = 36 h) and rounded to
// whole seconds.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pvediff::store {

// nullopt when malformed, negative, or beyond 100 years.
std::optional<std::chrono::seconds> parse_duration(std::string_view text, std::chrono::seconds bare_unit);
// The largest unit up to days that divides it exactly: "14d", "36h", "90m", "45s", "0".
std::string format_duration(std::chrono::seconds d);

}  // namespace pvediff::store
