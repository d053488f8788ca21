// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Fine matching of changed regions on worker threads, while the caller plans the next
// regions and writes the matched ones, in order. Once the full has been read, fine
// matching is most of the CPU left, and each region is matched alone (FineMatchJob),
// so two cores match two regions at once; what is written stays the same.
// Memory: the queued jobs' bytes, at most max_bytes unless one job alone is larger,
// plus each worker's table.
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fine_match.h"

namespace pvediff::engine::detail {

class FineMatchPool {
public:
    FineMatchPool(std::size_t threads, std::size_t max_bytes);
    ~FineMatchPool();
    FineMatchPool(const FineMatchPool&) = delete;
    FineMatchPool& operator=(const FineMatchPool&) = delete;

    // Whether a job of `bytes` fits beside those queued (always, when none is).
    [[nodiscard]] bool has_room(std::size_t bytes) const;
    // Queues a job; a worker matches it.
    void submit(std::unique_ptr<FineMatchJob> job);
    // The oldest job submitted and not yet taken, once matched; rethrows what
    // matching it threw. At least one job must be queued.
    std::unique_ptr<FineMatchJob> next();
    // Whether next() would return without waiting.
    [[nodiscard]] bool front_ready() const;

private:
    struct Slot {
        std::unique_ptr<FineMatchJob> job;
        bool started = false;
        bool done = false;
        std::exception_ptr error;
    };
    void work();
    void stop();  // ends and joins the workers

    mutable std::mutex mutex_;
    std::condition_variable queued_;
    std::condition_variable matched_;
    std::deque<Slot> slots_;  // in submission order; a deque keeps the others in place
    std::size_t bytes_ = 0;
    std::size_t max_bytes_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace pvediff::engine::detail
