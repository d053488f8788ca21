// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Reads the full's decompressed stream once, in order, on its own thread, and keeps
// only the byte ranges the encoder asked for (the old versions of changed regions),
// wherever they are, in a scratch file. The reader is held a lag behind the new
// archive's position, so that a range asked for is usually still ahead of it: a VMA
// cluster that moved by up to the lag, or a tar member shifted by an insertion, is
// caught on the way. What it had passed already is reported as missed, for a second
// pass (ChunkEncoder). Memory: a table of the ranges, not their bytes.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "block_scan.h"
#include "pvediff/io/byte_stream.h"
#include "spill_file.h"

namespace pvediff::engine::detail {

class BaseCapture {
public:
    using Ticket = std::uint64_t;
    struct Missed {
        Ticket ticket;
        std::uint64_t lo;
        std::uint64_t hi;
    };

    // `lag`: how far the reader stays behind the position given to follow().
    // `scan`, when given, sees every byte the reader reads (on the reader's thread;
    // look at it only after stop() or finish()).
    BaseCapture(io::ByteSource& base, std::uint64_t lag, const std::filesystem::path& spill_dir,
                BlockScan* scan = nullptr);
    ~BaseCapture();  // stops and joins the reader
    BaseCapture(const BaseCapture&) = delete;
    BaseCapture& operator=(const BaseCapture&) = delete;

    // Asks for base[lo, hi). The part the reader has already passed is missed (see
    // missed()); the rest is kept as the reader goes by.
    Ticket request(std::uint64_t lo, std::uint64_t hi);
    // The encoder has reached `position` in the new archive: the reader may read up
    // to position - lag.
    void follow(std::uint64_t position);
    // Lets the reader go up to `pos` and waits until it is past it (or at the end).
    void wait_past(std::uint64_t pos);
    // Reads the rest of the full and joins the reader; returns its length. Rethrows
    // the reader's error.
    std::uint64_t finish();
    // Stops the reader where it is (after wait_past(): everything asked for is in).
    void stop();

    // The bytes kept for `ticket`: base[start, end) with `start` returned; the part
    // before it was missed, the part after it lies beyond the end of the full.
    std::uint64_t take(Ticket ticket, std::vector<std::uint8_t>& out);
    // Every request's missed head, for a second pass.
    [[nodiscard]] std::vector<Missed> missed();
    [[nodiscard]] std::uint64_t missed_bytes();
    [[nodiscard]] std::uint64_t kept_bytes() const { return spill_.size(); }

private:
    struct Capture {
        std::uint64_t asked = 0;  // lo as asked
        std::uint64_t start = 0;  // first byte kept
        std::uint64_t next = 0;   // next byte wanted (the reader has kept [start, next))
        std::uint64_t hi = 0;
    };
    struct Extent {
        std::uint64_t spill_offset;
        std::uint64_t length;
    };
    void run();
    void keep(std::uint64_t pos, std::span<const std::uint8_t> bytes);
    void stop_reader();

    io::ByteSource& base_;
    const std::uint64_t lag_;
    BlockScan* scan_;
    SpillFile spill_;  // written by the reader under the lock, read by take() under it
    std::mutex mutex_;
    std::condition_variable cv_;
    std::uint64_t read_ = 0;     // reader position
    std::uint64_t allowed_ = 0;  // the reader may read below this
    bool eof_ = false;
    bool stop_ = false;
    std::exception_ptr error_;
    Ticket next_ticket_ = 1;
    std::map<Ticket, Capture> captures_;
    std::multimap<std::uint64_t, Ticket> waiting_;                 // by the next byte wanted
    std::map<std::uint64_t, Extent> extents_;                      // base offset -> kept bytes
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges_;  // scratch for keep()
    std::uint64_t missed_ = 0;
    std::thread thread_;
};

}  // namespace pvediff::engine::detail
