// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Finds where in the full the 4 KiB blocks of changed VMA clusters already were, by
// looking at every block position of the full's stream as it goes by (the second read
// of the full, see chunk_encoder.cpp). The index samples one block in 32 (anchors);
// this catches the rest: a small file copied inside the guest, a block that moved
// alone. Only the wanted blocks are kept in memory (their hashes), so the cost grows
// with the change; a cheap hash of each position's first 64 bytes filters before the
// block's own hash is taken.
#include <cstdint>
#include <filesystem>
#include <span>
#include <unordered_map>
#include <vector>

#include "spill_file.h"

namespace pvediff::engine::detail {

class BlockScan {
public:
    static constexpr std::size_t block = 4096;
    // VMA extents are 512-byte headers followed by whole blocks, so every stored
    // block starts at a multiple of 512 in the stream.
    static constexpr std::size_t step = 512;
    // Blocks looked for at most (4 GiB of changed clusters, ~40 bytes each).
    static constexpr std::size_t max_wanted = std::size_t{1} << 20;

    struct Found {
        std::uint64_t spill_at;     // the block's bytes, in the scan's scratch file
        std::uint64_t full_offset;  // where the full has them
    };

    explicit BlockScan(std::filesystem::path spill_dir) : spill_(std::move(spill_dir)) {}

    // Looks for the blocks of `bytes` (whole blocks only) on behalf of `owner`.
    void want(std::span<const std::uint8_t> bytes, std::uint64_t owner);
    [[nodiscard]] bool wants_any() const { return !wanted_.empty(); }
    // The full's stream, in order, in pieces of any size (called by one thread).
    void feed(std::uint64_t pos, std::span<const std::uint8_t> bytes);

    // What was found for `owner` (empty if nothing), and its bytes.
    [[nodiscard]] const std::vector<Found>& found(std::uint64_t owner) const;
    void read(const Found& f, std::vector<std::uint8_t>& out) const;
    [[nodiscard]] std::uint64_t found_blocks() const { return found_count_; }

private:
    // Scans the positions from `from` whose block lies in bytes (at stream offset
    // `pos`); returns the first position not scanned.
    std::uint64_t scan(std::uint64_t pos, std::span<const std::uint8_t> bytes, std::uint64_t from);

    std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> wanted_;  // block hash -> owners
    std::vector<std::uint64_t> prefixes_;  // bit filter of the wanted blocks' first 64 bytes (1 MiB)
    std::size_t wanted_count_ = 0;
    std::vector<std::uint8_t> carry_;  // the stream from carry_pos_ on, not yet scanned whole
    std::uint64_t carry_pos_ = 0;
    std::vector<std::uint8_t> work_;
    std::unordered_map<std::uint64_t, std::vector<Found>> found_;
    std::uint64_t found_count_ = 0;
    SpillFile spill_;
};

}  // namespace pvediff::engine::detail
