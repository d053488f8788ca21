// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The worker threads of VmaFramedWriter: each compresses a piece of a VMA (its header
// or one extent) as one zstd frame, with a content checksum, and for an extent hashes
// each cluster's stored blocks (Adler-32 and SHA-256). Pieces are handed back in the
// order they were submitted; the caller bounds how many are in flight, so memory stays
// at a few extents per thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pvediff/io/sha256.h"

namespace pvediff::formats::detail {

struct ClusterSums {
    std::uint32_t adler32 = 1;
    io::Digest sha256{};
};

struct FrameJob {
    std::vector<std::uint8_t> input;   // the piece, as in the VMA
    std::vector<std::uint64_t> infos;  // extent: its non-zero blockinfos (slot order); header: none
    bool is_extent = false;
    std::uint64_t offset = 0;  // of the piece in the VMA
    // Filled by a worker:
    std::vector<std::uint8_t> frame;
    std::vector<ClusterSums> sums;  // one per entry of infos
    std::exception_ptr error;
    bool done = false;
};

class FrameWorkers {
public:
    // Throws io::Error naming `name` for a level zstd does not have or threads < 1.
    FrameWorkers(int threads, int level, std::string name);
    ~FrameWorkers();  // stops and joins the threads (pending pieces are dropped)
    FrameWorkers(const FrameWorkers&) = delete;
    FrameWorkers& operator=(const FrameWorkers&) = delete;

    void submit(std::unique_ptr<FrameJob> job);
    // Waits for the oldest piece submitted and hands it back (its error set if it failed).
    std::unique_ptr<FrameJob> take_oldest();
    [[nodiscard]] std::size_t in_flight() const { return order_.size(); }
    [[nodiscard]] std::size_t threads() const { return threads_.size(); }

private:
    void run();

    std::string name_;
    int level_;
    std::mutex mutex_;
    std::condition_variable work_;
    std::condition_variable done_;
    std::deque<FrameJob*> todo_;                   // guarded by mutex_
    std::deque<std::unique_ptr<FrameJob>> order_;  // submitted, not taken; the caller's thread only
    bool stop_ = false;                            // guarded by mutex_
    std::vector<std::thread> threads_;
};

}  // namespace pvediff::formats::detail
