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
#include <functional>
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

// Fine matching on a pool, written in the caller's order: the caller submits matching
// jobs and other writes (copies, literals) in the order they belong in the delta; a
// write waits behind the jobs submitted before it, a job is written once matched.
// Jobs' buffers are reused (fresh ones cost page faults and zeroed pages per region).
class OrderedFineMatching {
public:
    OrderedFineMatching(VcdiffWriter& writer, CopyProof* proof, std::size_t threads, std::size_t max_bytes);

    // A job with no target, base or instructions, its buffers perhaps reused.
    std::unique_ptr<FineMatchJob> job();
    // Matched on the pool, then written (write_matched) in turn.
    void submit(std::unique_ptr<FineMatchJob> job);
    // A job matched already (match_in_place): written in turn, not matched again.
    void submit_matched(std::unique_ptr<FineMatchJob> job);
    // Written now when nothing waits, else in turn.
    void then(std::function<void()> write);
    // Writes what is ready at the front, without waiting.
    void write_ready();
    // Writes everything, waiting for the jobs.
    void finish();
    // Bytes the written jobs copied from the full.
    [[nodiscard]] std::uint64_t fine_copied_bytes() const { return fine_copied_bytes_; }

private:
    struct Pending {
        bool job;                     // else `write`
        std::function<void()> write;  // the deferred write
    };
    void write_front();
    void write_job(const FineMatchJob& job);

    VcdiffWriter& writer_;
    CopyProof* proof_;
    FineMatchPool pool_;
    std::deque<Pending> pending_;
    std::vector<std::unique_ptr<FineMatchJob>> spare_jobs_;
    std::uint64_t fine_copied_bytes_ = 0;
};

}  // namespace pvediff::engine::detail
