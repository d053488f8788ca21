// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The oracle of the targets that make or decode VCDIFF: what stock xdelta3's one-shot
// decoder, xd3_decode_memory(), makes of a whole delta with the whole full in memory.
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "fuzz_util.h"

extern "C" {
#include "xdelta3.h"
}

namespace pvediff::fuzz {

// The target xdelta3 rebuilds from `delta` and `full`, which must be at most
// `max_target` bytes; a decoding error is a finding.
inline std::vector<std::uint8_t> xdelta3_rebuild(std::span<const std::uint8_t> delta,
                                                 std::span<const std::uint8_t> full, std::size_t max_target)
{
    std::vector<std::uint8_t> out(max_target + 1);
    usize_t size = 0;
    const int ret = xd3_decode_memory(delta.data(), static_cast<usize_t>(delta.size()), full.data(),
                                      static_cast<usize_t>(full.size()), out.data(), &size,
                                      static_cast<usize_t>(out.size()), 0);
    if (ret != 0) {
        std::fprintf(stderr, "xd3_decode_memory: %s\n", xd3_strerror(ret));
    }
    FUZZ_CHECK(ret == 0);
    out.resize(size);
    return out;
}

}  // namespace pvediff::fuzz
