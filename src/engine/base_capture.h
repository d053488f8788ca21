// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// One read of the full's decompressed stream that keeps only the byte ranges the
// encoder asked for (the old versions of changed regions, wherever they are) in a
// scratch file, and shows every byte to a BlockScan. The encoder asks while it walks
// the new archive and reads the full afterwards, so nothing asked for is ever behind
// the reader, whatever the distance or the order. Memory: a table of the ranges, not
// their bytes.
#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

#include "block_scan.h"
#include "pvediff/io/byte_stream.h"
#include "range_check.h"
#include "spill_file.h"

namespace pvediff::engine::detail {

class BaseCapture {
public:
    using Ticket = std::uint64_t;

    // `scan` and `check` (either may be null) see every byte of the full too.
    BaseCapture(const std::filesystem::path& spill_dir, BlockScan* scan, RangeCheck* check)
        : scan_(scan), check_(check), spill_(spill_dir)
    {
    }

    // Asks for base[lo, hi) (before read_all()).
    Ticket request(std::uint64_t lo, std::uint64_t hi);
    // Reads the whole full, keeping what was asked for; returns its length.
    std::uint64_t read_all(io::ByteSource& base);
    // The bytes kept for `ticket`: base[start, end) with `start` returned; shorter
    // than asked where the full ended first.
    std::uint64_t take(Ticket ticket, std::vector<std::uint8_t>& out);
    [[nodiscard]] std::uint64_t kept_bytes() const { return spill_.size(); }

private:
    struct Capture {
        std::uint64_t start = 0;
        std::uint64_t next = 0;  // [start, next) is kept
        std::uint64_t hi = 0;
    };
    struct Extent {
        std::uint64_t spill_offset;
        std::uint64_t length;
    };
    void keep(std::uint64_t pos, std::span<const std::uint8_t> bytes);

    BlockScan* scan_;
    RangeCheck* check_;
    SpillFile spill_;
    Ticket next_ticket_ = 1;
    std::map<Ticket, Capture> captures_;
    std::multimap<std::uint64_t, Ticket> waiting_;                 // by the next byte wanted
    std::map<std::uint64_t, Extent> extents_;                      // base offset -> kept bytes
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges_;  // scratch for keep()
};

}  // namespace pvediff::engine::detail
