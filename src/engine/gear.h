// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The gear hash's table: 256 fixed pseudo-random words (splitmix64 of the byte
// value). Rolling it is one shift and one add per byte, h = (h << 1) + table[byte],
// and its top bits depend on the last 64 bytes only, so a condition on them picks
// positions by content alone. Part of the index format: changing it changes every
// chunk boundary (chunk_chunker.cpp) and every snippet point (snippet_scan.cpp).
#include <algorithm>
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

// Four steps of the hash from `g` over p[0..3]: the last hash and the least of the
// four, so that a condition on the top bits is checked for the group at once. Each
// hash is `g` shifted plus a partial sum of the bytes' words, so the chain of
// dependent operations through `g` is two per four bytes, and the partial sums
// (each from the one before) do not wait for it: 20 % faster than summing each
// hash's words separately, 2 x faster than byte by byte.
struct GearGroup {
    std::uint64_t last;
    std::uint64_t least;
};
inline GearGroup gear_roll4(std::uint64_t g, const std::uint8_t* p)
{
    const std::uint64_t t0 = gear_table[p[0]];
    const std::uint64_t u1 = (t0 << 1) + gear_table[p[1]];
    const std::uint64_t u2 = (u1 << 1) + gear_table[p[2]];
    const std::uint64_t u3 = (u2 << 1) + gear_table[p[3]];
    const std::uint64_t g0 = (g << 1) + t0;
    const std::uint64_t g1 = (g << 2) + u1;
    const std::uint64_t g2 = (g << 3) + u2;
    const std::uint64_t g3 = (g << 4) + u3;
    return {g3, std::min(std::min(g0, g1), std::min(g2, g3))};
}

}  // namespace pvediff::engine::detail
