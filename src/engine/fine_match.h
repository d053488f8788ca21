// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Byte-level matching of a changed region of the new archive against the bytes of
// the full around where it used to be: what chunk lookups miss (a 4 KiB page
// rewritten in a 64 KiB chunk, a line appended to a log) comes out as copies of the
// unchanged parts and literals of the changed ones only.
#include <cstdint>
#include <span>
#include <vector>

#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_writer.h"

namespace pvediff::engine::detail {

class FineMatcher {
public:
    // Matches shorter than this are not worth a COPY instruction.
    static constexpr std::size_t min_match = 32;

    // Pieces of the full to match against: call add_base() for each (bytes are
    // copied), then encode(); the pieces are dropped after it.
    void add_base(std::span<const std::uint8_t> bytes, std::uint64_t full_offset);
    // Writes `target` to `writer` as copies from the pieces and literals, and records
    // each in `proof` when given (copy_proof.h).
    // Memory: the pieces plus a table of 2 to 4 slots of 8 bytes per 8 bytes of them.
    void encode(std::span<const std::uint8_t> target, VcdiffWriter& writer, CopyProof* proof = nullptr);

private:
    struct Piece {
        std::size_t begin;  // in base_
        std::size_t end;
        std::uint64_t full_offset;
    };
    std::vector<std::uint8_t> base_;
    std::vector<Piece> pieces_;
    std::vector<std::uint32_t> keys_;
    std::vector<std::uint32_t> positions_;
};

}  // namespace pvediff::engine::detail
