// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Random-access reads of an archive that can only be produced front to back (the
// rebuild of a differential), for one open file of `pvediff mount`.
//
// A producer thread writes the archive into a bounded window; a read ahead of it waits
// for it, a read inside the window is copied out, and a read behind it is served from
// a cache of the archive's start (what "Show Configuration" reads: the VMA header, the
// first tar members) or by producing again from the start. The producer blocks while
// the window is full of bytes the reader has not passed, so memory stays bounded
// whatever the reader does: head_bytes + window_bytes, plus the producer's own.
//
// Nothing is served that the producer did not deliver: when it fails (a window that
// does not pass its Adler-32, a missing full) or ends at another size than announced,
// every read it cannot serve from what it delivered before throws io::Error.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "pvediff/io/byte_stream.h"

namespace pvediff::commands {

struct StreamLimits {
    std::size_t head_bytes = std::size_t{4} << 20;     // the start, kept for the life of the file
    std::size_t window_bytes = std::size_t{16} << 20;  // recent bytes around the reader
    std::size_t keep_behind = std::size_t{4} << 20;    // of which kept behind the furthest read
    std::size_t piece_bytes = std::size_t{1} << 20;    // unit the window grows and shrinks by
};

// Writes the whole archive into the sink (may be called again after a restart).
using ArchiveProducer = std::function<void(io::ByteSink&)>;

class StreamedArchive {
public:
    // `name` is used in messages; `size` is the archive's announced size.
    StreamedArchive(std::string name, std::uint64_t size, ArchiveProducer producer, StreamLimits limits = {});
    ~StreamedArchive();
    StreamedArchive(const StreamedArchive&) = delete;
    StreamedArchive& operator=(const StreamedArchive&) = delete;

    // Fills `buf` with the bytes at `offset` (fewer only at the end of the archive).
    // Throws io::Error when the producer failed before delivering them.
    std::size_t read(std::uint64_t offset, std::span<std::uint8_t> buf);

    [[nodiscard]] std::uint64_t restarts() const;  // producer runs after the first

private:
    class WindowSink;
    struct Cancelled {};

    void start_locked();
    void restart(std::unique_lock<std::mutex>& lock);
    void run(std::uint64_t generation);
    void append(std::uint64_t generation, std::span<const std::uint8_t> piece);
    bool copy_available(std::uint64_t& pos, std::uint8_t*& out, std::uint64_t end);

    const std::string name_;
    const std::uint64_t size_;
    const ArchiveProducer producer_;
    const StreamLimits limits_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::uint8_t> head_;
    std::deque<std::vector<std::uint8_t>> window_;
    std::uint64_t window_start_ = 0;  // offset of window_.front()
    std::uint64_t window_end_ = 0;    // bytes produced in this generation
    std::size_t window_size_ = 0;
    std::uint64_t demand_ = 0;  // furthest byte a reader waits for or has read
    std::uint64_t generation_ = 0;
    bool cancel_ = false;
    bool restarting_ = false;
    bool done_ = false;
    std::string error_;
    std::uint64_t restarts_ = 0;
    std::thread thread_;
};

}  // namespace pvediff::commands
