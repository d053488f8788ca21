// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Small inputs: the chunked encoder and plain xdelta3 both run, the smaller delta wins.
//
// The chunked encoder is built for archives whose layout it knows; on small or odd
// inputs (a 1-byte shift of a periodic pattern, shuffled blocks, a few KB) stock
// `xdelta3 -e` can be a few bytes to a few percent smaller. When the full and the new
// archive are both at most max_input_bytes, both are held in memory and encoded by
// `primary` and by the embedded xdelta3 encoder (which then sees the whole full); the
// delta whose zstd-compressed size is smaller is written (the primary's on a tie, or
// when xdelta3 fails). Larger inputs stream through `primary` alone: the same delta
// as without this wrapper, after max_input_bytes of one input were read ahead (held
// until the primary has read them again).
// Memory: at most 2 x max_input_bytes of input plus both deltas (each at most about
// the new archive's size) plus the encoders' own; xdelta3's source ring holds the full
// once more.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "pvediff/engine/delta.h"

namespace pvediff::engine {

struct SmallerOfOptions {
    std::uint64_t max_input_bytes = std::uint64_t{32} << 20;  // each of the full and the new archive
    Xdelta3Options xdelta3{};  // its level; the windows are sized for the inputs
    // zstd level of the comparison: the differential writer's own for deltas of at
    // most compare_small_bytes, level 1 beyond.
    int compare_level = 19;
    std::size_t compare_small_bytes = std::size_t{1} << 20;
};

std::unique_ptr<Encoder> make_smaller_of_encoder(std::unique_ptr<Encoder> primary,
                                                 SmallerOfOptions options = {});

}  // namespace pvediff::engine
