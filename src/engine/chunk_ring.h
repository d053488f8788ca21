// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A bounded window onto the full's decompressed stream, filled by its own thread while
// the encoder walks the new archive. New and full are mostly in the same order, so
// the full's bytes around a changed region are usually still (or soon) in the ring;
// when they are not, the encoder simply does without them. Memory: the capacity.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "pvediff/io/byte_stream.h"

namespace pvediff::engine::detail {

class BaseRing {
public:
    BaseRing(io::ByteSource& base, std::size_t capacity);
    ~BaseRing();  // stops and joins the reader
    BaseRing(const BaseRing&) = delete;
    BaseRing& operator=(const BaseRing&) = delete;

    // Copies what is available of base[lo, hi) into `out`, waiting for the reader to
    // get as far as the release mark lets it. Returns the offset of out[0]: lo, or
    // later if the start was already evicted; `out` may be shorter than asked, or
    // empty when the range lies beyond reach or was evicted.
    std::uint64_t get(std::uint64_t lo, std::uint64_t hi, std::vector<std::uint8_t>& out);
    // The encoder will not ask for anything below `pos` any more (a hint: get() may
    // still be called for lower ranges, they are just likely gone).
    void release_below(std::uint64_t pos);
    // Reads the rest of the stream, joins the reader; returns the stream length.
    // Rethrows the reader's error.
    std::uint64_t finish();
    // Bytes the reader has read so far.
    [[nodiscard]] std::uint64_t reader_position();

private:
    void run();

    io::ByteSource& base_;
    std::vector<std::uint8_t> ring_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::uint64_t written_ = 0;  // reader position (stream offset)
    std::uint64_t reserved_ = 0;  // end of the reader's current read
    std::uint64_t release_ = 0;  // the reader may overwrite bytes below this
    bool eof_ = false;
    bool stop_ = false;
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace pvediff::engine::detail
