// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Pieces of the full read ahead of need, kept until the last window that reads them
// is done: in memory up to a limit, beyond it in one temporary file that is unlinked
// as soon as it is created (so nothing is left behind, whatever happens to the process).
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <vector>

#include "spill_file.h"

namespace pvediff::engine {

class SourceStash {
public:
    SourceStash(std::filesystem::path spill_dir, std::uint64_t memory_limit,
                std::filesystem::path fallback_spill_dir = {});

    // Keeps `data`, the full's bytes at `offset`, until window `last_use` is done.
    // Pieces are put in increasing offset order and never overlap. `planned_end`: where
    // the run of bytes it starts or continues ends (the caller's plan), so that a piece
    // kept in memory takes its room once instead of growing as the rest is appended.
    void put(std::uint64_t offset, std::span<const std::uint8_t> data, std::uint64_t last_use,
             std::uint64_t planned_end = 0);
    // Copies every kept byte within [offset, offset + out.size()) to its place in `out`;
    // the other bytes of `out` are left as they are.
    void copy_to(std::uint64_t offset, std::span<std::uint8_t> out);
    // The kept bytes [offset, offset + length) when one in-memory piece holds them all,
    // else an empty span. Valid while generation() stays the same.
    [[nodiscard]] std::span<const std::uint8_t> view(std::uint64_t offset, std::uint64_t length) const;
    // Drops the pieces whose last use is `window` or earlier.
    void release_through(std::uint64_t window);

    // Changes whenever a view() may have become invalid.
    [[nodiscard]] std::uint64_t generation() const { return generation_; }
    [[nodiscard]] std::uint64_t kept_bytes() const { return total_; }
    [[nodiscard]] std::uint64_t peak_bytes() const { return peak_; }
    [[nodiscard]] std::uint64_t spilled_bytes() const { return spilled_; }
    // The most spilled bytes kept at once: the spill file's peak use of disk (the
    // space of released pieces is given back, see SpillFile::release()).
    [[nodiscard]] std::uint64_t spilled_peak_bytes() const { return spilled_peak_; }
    // The spill file's disk space now.
    [[nodiscard]] std::uint64_t spill_disk_bytes() const { return spill_file_.allocated_bytes(); }

private:
    struct Piece {
        std::uint64_t length = 0;
        std::uint64_t last_use = 0;
        std::vector<std::uint8_t> data;  // empty when spilled
        std::uint64_t spill_offset = 0;
        bool spilled = false;
    };
    void put_one(std::uint64_t offset, std::span<const std::uint8_t> data, std::uint64_t last_use,
                 std::uint64_t planned_end);
    void spill(Piece& piece, std::span<const std::uint8_t> data);

    std::uint64_t memory_limit_;
    std::map<std::uint64_t, Piece> pieces_;               // by offset in the full
    std::multimap<std::uint64_t, std::uint64_t> by_use_;  // last use -> offset
    detail::SpillFile spill_file_;  // unlinked at once: nothing left behind, even on a kill
    std::uint64_t in_memory_ = 0;
    std::uint64_t total_ = 0;
    std::uint64_t peak_ = 0;
    std::uint64_t spilled_ = 0;
    std::uint64_t spilled_live_ = 0;
    std::uint64_t spilled_peak_ = 0;
    std::uint64_t generation_ = 0;
};

}  // namespace pvediff::engine
