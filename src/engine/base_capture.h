// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// One read of the full's decompressed stream that keeps only the byte ranges the
// encoder asked for (the old versions of changed regions, wherever they are) in a
// scratch file, and shows every byte to an observer (the scans). The encoder asks
// while it walks the new archive and reads the full afterwards, so nothing asked for
// is ever behind the reader, whatever the distance or the order. The observer sees
// each piece one piece before it is kept, so what it finds can still be asked for,
// up to a piece back. Memory: a table of the ranges, not their bytes, and two pieces.
// The encoder asks for 500-1,300 ranges per GiB of a container's tar and 4,400 of a
// VM's VMA, and holds them until its instructions are written, so the table is kept
// small: 16 bytes per range asked, 24 per extent kept. The ranges asked before the
// read wait for it sorted on scratch disk (RecordSorter), taken into memory as the
// read reaches them; only those begun, and those asked during the read, wait in
// memory (16 bytes each).
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <queue>
#include <span>
#include <vector>

#include "pvediff/io/byte_stream.h"
#include "record_sort.h"
#include "spill_file.h"

namespace pvediff::engine::detail {

class BaseCapture {
public:
    using Ticket = std::uint64_t;
    // Sees the full's stream in order, in pieces of any size.
    using Observer = std::function<void(std::uint64_t pos, std::span<const std::uint8_t> bytes)>;

    explicit BaseCapture(const std::filesystem::path& spill_dir) : spill_(spill_dir), asked_before_(spill_dir)
    {
    }

    // Asks for base[lo, hi): before read_all(), or from its observer, where what has
    // already been kept or passed (before kept_to()) can no longer be had: the range
    // then starts at kept_to().
    Ticket request(std::uint64_t lo, std::uint64_t hi);
    // Asks for more of the same range: up to base[.., hi). False if bytes between its
    // end and kept_to() have passed (ask anew then).
    bool extend(Ticket ticket, std::uint64_t hi);
    [[nodiscard]] std::uint64_t kept_to() const { return kept_to_; }
    // Reads the whole full, keeping what was asked for; returns its length.
    std::uint64_t read_all(io::ByteSource& base, const Observer& observe);
    // The bytes kept for `ticket`: base[start, end) with `start` returned; shorter
    // than asked where the full ended first.
    std::uint64_t take(Ticket ticket, std::vector<std::uint8_t>& out);
    [[nodiscard]] std::uint64_t kept_bytes() const { return spill_.size(); }

private:
    // base[start, hi) is wanted; base[start, next) is kept, next being what the read
    // has passed of it: min(hi, max(start, kept_to_)) (every waiting range gets each
    // byte of it as the read goes by).
    struct Capture {
        std::uint64_t start = 0;
        std::uint64_t hi : 63 = 0;
        bool taken : 1 = false;
    };
    static_assert(sizeof(Capture) == 16, "one per range asked of the whole full");
    // Bytes of the full kept in the spill file: base[base_offset, +length).
    struct Extent {
        std::uint64_t base_offset;
        std::uint64_t spill_offset;
        std::uint64_t length;
    };
    // A capture waiting for the byte `next` of the full (a min-heap by it).
    using Waiting = std::pair<std::uint64_t, Ticket>;
    void keep(std::uint64_t pos, std::span<const std::uint8_t> bytes);
    [[nodiscard]] Capture* find(Ticket ticket);
    [[nodiscard]] std::uint64_t next_of(const Capture& c) const;
    // Moves the ranges asked before the read that begin before `end` to waiting_.
    void begin_before(std::uint64_t end);

    SpillFile spill_;
    std::uint64_t kept_to_ = 0;     // base[0, kept_to_) has gone by keep()
    std::deque<Capture> captures_;  // by ticket - 1 (tickets count from 1)
    bool reading_ = false;          // read_all() has begun
    // Asked before the read and not yet begun: (start, ticket), by start.
    RecordSorter asked_before_;
    bool have_asked_ = false;
    Record next_asked_;  // the first of asked_before_ not yet in waiting_, if have_asked_
    std::priority_queue<Waiting, std::vector<Waiting>, std::greater<>> waiting_;
    std::deque<Extent> extents_;  // in ascending order of base offset, disjoint
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges_;  // scratch for keep()
};

}  // namespace pvediff::engine::detail
