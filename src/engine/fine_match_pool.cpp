// SPDX-License-Identifier: GPL-2.0-or-later
#include "fine_match_pool.h"

#include <algorithm>

#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

FineMatchPool::FineMatchPool(std::size_t threads, std::size_t max_bytes) : max_bytes_(max_bytes)
{
    threads = std::max<std::size_t>(threads, 1);
    try {
        for (std::size_t i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { work(); });
        }
    } catch (...) {
        stop();  // the threads started
        throw;
    }
}

FineMatchPool::~FineMatchPool()
{
    stop();
}

void FineMatchPool::stop()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    queued_.notify_all();
    for (std::thread& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

bool FineMatchPool::has_room(std::size_t bytes) const
{
    const std::lock_guard lock(mutex_);
    return slots_.empty() || bytes_ + bytes <= max_bytes_;
}

void FineMatchPool::submit(std::unique_ptr<FineMatchJob> job)
{
    {
        const std::lock_guard lock(mutex_);
        bytes_ += job->bytes();
        Slot slot;
        slot.job = std::move(job);
        slots_.push_back(std::move(slot));
    }
    queued_.notify_one();
}

std::unique_ptr<FineMatchJob> FineMatchPool::next()
{
    std::unique_lock lock(mutex_);
    if (slots_.empty()) {
        throw io::Error("fine matching: no job queued (internal error)");
    }
    matched_.wait(lock, [this] { return slots_.front().done; });
    Slot slot = std::move(slots_.front());
    slots_.pop_front();
    bytes_ -= slot.job->bytes();
    lock.unlock();
    if (slot.error) {
        std::rethrow_exception(slot.error);
    }
    return std::move(slot.job);
}

bool FineMatchPool::front_ready() const
{
    const std::lock_guard lock(mutex_);
    return !slots_.empty() && slots_.front().done;
}

void FineMatchPool::work()
{
    FineMatcher matcher;  // its table is reused from job to job
    std::unique_lock lock(mutex_);
    for (;;) {
        auto waiting = slots_.end();
        queued_.wait(lock, [&] {
            waiting = std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.started; });
            return stopping_ || waiting != slots_.end();
        });
        if (stopping_) {
            return;
        }
        Slot& slot = *waiting;  // stays in place: only done slots are taken out
        slot.started = true;
        lock.unlock();
        std::exception_ptr error;
        try {
            matcher.match(*slot.job);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        slot.error = error;
        slot.done = true;
        matched_.notify_all();
    }
}

namespace {
// Jobs whose buffers are kept for reuse: a few, not the large ones.
constexpr std::size_t max_spare_jobs = 4;
constexpr std::size_t max_spare_job_bytes = std::size_t{4} << 20;
}  // namespace

OrderedFineMatching::OrderedFineMatching(VcdiffWriter& writer, CopyProof* proof, std::size_t threads,
                                         std::size_t max_bytes)
    : writer_(writer), proof_(proof), pool_(threads, max_bytes)
{
}

std::unique_ptr<FineMatchJob> OrderedFineMatching::job()
{
    if (spare_jobs_.empty()) {
        return std::make_unique<FineMatchJob>();
    }
    auto job = std::move(spare_jobs_.back());
    spare_jobs_.pop_back();
    job->target.clear();
    job->base.clear();
    job->pieces.clear();
    job->instructions.clear();
    job->next_copy_at.reset();
    return job;
}

void OrderedFineMatching::submit(std::unique_ptr<FineMatchJob> job)
{
    while (!pool_.has_room(job->bytes())) {
        write_front();
    }
    pool_.submit(std::move(job));
    pending_.push_back({true, {}});
}

void OrderedFineMatching::submit_matched(std::unique_ptr<FineMatchJob> job)
{
    // A std::function must be copyable: the job goes in by a shared pointer.
    then([this, matched = std::shared_ptr<FineMatchJob>(std::move(job))] { write_job(*matched); });
}

void OrderedFineMatching::then(std::function<void()> write)
{
    if (pending_.empty()) {
        write();
    } else {
        pending_.push_back({false, std::move(write)});
    }
}

void OrderedFineMatching::write_ready()
{
    while (!pending_.empty() && (!pending_.front().job || pool_.front_ready())) {
        write_front();
    }
}

void OrderedFineMatching::finish()
{
    while (!pending_.empty()) {
        write_front();
    }
}

void OrderedFineMatching::write_front()
{
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    if (!p.job) {
        p.write();
        return;
    }
    auto job = pool_.next();
    write_job(*job);
    if (spare_jobs_.size() < max_spare_jobs &&
        job->base.capacity() + job->target.capacity() <= max_spare_job_bytes) {
        spare_jobs_.push_back(std::move(job));
    }
}

void OrderedFineMatching::write_job(const FineMatchJob& job)
{
    const std::uint64_t copied_before = writer_.stats().copied_bytes;
    write_matched(job, writer_, proof_);
    fine_copied_bytes_ += writer_.stats().copied_bytes - copied_before;
}

}  // namespace pvediff::engine::detail
