// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A number that is the whole of a text: config values, manifest fields, names' parts,
// environment variables. "12x", "", " 12" and an out-of-range value are none.
#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace pvediff::io {

// T an integer or floating-point type; as std::from_chars reads it (decimal, no
// leading '+' or spaces; for unsigned T no '-').
template <typename T>
std::optional<T> parse_number(std::string_view text)
{
    T out{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return out;
}

}  // namespace pvediff::io
