// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The gear hash's table: 256 fixed pseudo-random words (splitmix64 of the byte
// value). Rolling it is one shift and one add per byte, h = (h << 1) + table[byte],
// and its top bits depend on the last 64 bytes only, so a condition on them picks
// positions by content alone. Part of the index format: changing it changes every
// chunk boundary (chunk_chunker.cpp) and every snippet point (snippet_scan.cpp).
#include <array>
#include <cstdint>

namespace pvediff::engine::detail {

constexpr std::array<std::uint64_t, 256> make_gear_table()
{
    std::array<std::uint64_t, 256> t{};
    std::uint64_t x = 0x7064696666636463ULL;  // "pdiffcdc"
    for (auto& v : t) {
        x += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        v = z ^ (z >> 31);
    }
    return t;
}
inline constexpr std::array<std::uint64_t, 256> gear_table = make_gear_table();

}  // namespace pvediff::engine::detail
