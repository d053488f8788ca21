// SPDX-License-Identifier: GPL-2.0-or-later
#include "frame_workers.h"

#include <libdeflate.h>
#include <zstd.h>

#include <bit>

#include "extent_slots.h"
#include "pvediff/formats/vma.h"
#include "pvediff/io/error.h"
#include "pvediff/io/library_handles.h"

namespace pvediff::formats::detail {

namespace {

void check(std::size_t ret, const std::string& name)
{
    if (ZSTD_isError(ret) != 0U) {
        throw io::file_error(name, "zstd: {}", ZSTD_getErrorName(ret));
    }
}

io::ZstdCCtx make_cctx(int level, const std::string& name)
{
    io::ZstdCCtx cctx(ZSTD_createCCtx());
    if (!cctx) {
        throw io::file_error(name, "zstd: cannot allocate a compression context");
    }
    check(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level), name);
    // As the zstd CLI does: `zstd -t` and io::ZstdFrameReader catch damaged data.
    check(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1), name);
    return cctx;
}

void compress(ZSTD_CCtx* cctx, FrameJob& job, const std::string& name)
{
    job.frame.resize(ZSTD_compressBound(job.input.size()));
    const std::size_t n =
        ZSTD_compress2(cctx, job.frame.data(), job.frame.size(), job.input.data(), job.input.size());
    check(n, name);
    job.frame.resize(n);
}

// The stored blocks of each cluster follow the extent header in slot order.
void hash_clusters(FrameJob& job)
{
    job.sums.clear();
    std::size_t at = vma::extent_header_size;
    for (const std::uint64_t info : job.infos) {
        const std::size_t n = static_cast<std::size_t>(std::popcount(info_mask(info))) * vma::block_size;
        const std::span<const std::uint8_t> stored(job.input.data() + at, n);
        ClusterSums s;
        s.adler32 = libdeflate_adler32(1, stored.data(), stored.size());
        io::Sha256 sha;
        sha.update(stored);
        s.sha256 = sha.finish();
        job.sums.push_back(s);
        at += n;
    }
}

}  // namespace

FrameWorkers::FrameWorkers(int threads, int level, std::string name) : name_(std::move(name)), level_(level)
{
    if (threads < 1) {
        throw io::file_error(name_, "zstd: invalid thread count {}", threads);
    }
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        throw io::file_error(name_, "zstd: invalid compression level {}", level);
    }
    threads_.reserve(static_cast<std::size_t>(threads));
    try {
        for (int i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { run(); });
        }
    } catch (...) {
        // (Reason 2, docs/architecture.md "Errors": threads already started must be
        // joined before the exception leaves, or std::thread's destructor terminates.)
        {
            const std::lock_guard lock(mutex_);
            stop_ = true;
        }
        work_.notify_all();
        for (auto& t : threads_) {
            t.join();
        }
        throw;
    }
}

FrameWorkers::~FrameWorkers()
{
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
    }
    work_.notify_all();
    for (auto& t : threads_) {
        t.join();
    }
}

void FrameWorkers::submit(std::unique_ptr<FrameJob> job)
{
    job->done = false;
    job->error = nullptr;
    {
        const std::lock_guard lock(mutex_);
        todo_.push_back(job.get());
    }
    order_.push_back(std::move(job));
    work_.notify_one();
}

std::unique_ptr<FrameJob> FrameWorkers::take_oldest()
{
    FrameJob* oldest = order_.front().get();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return oldest->done; });
    lock.unlock();
    auto job = std::move(order_.front());
    order_.pop_front();
    return job;
}

void FrameWorkers::run()
{
    io::ZstdCCtx cctx;
    std::exception_ptr setup_error;
    try {
        cctx = make_cctx(level_, name_);
    } catch (...) {
        // (Reason 2: carried to the caller's thread with the first piece.)
        setup_error = std::current_exception();
    }
    for (;;) {
        FrameJob* job = nullptr;
        {
            std::unique_lock lock(mutex_);
            work_.wait(lock, [&] { return stop_ || !todo_.empty(); });
            if (stop_) {
                return;
            }
            job = todo_.front();
            todo_.pop_front();
        }
        try {
            if (setup_error) {
                std::rethrow_exception(setup_error);
            }
            compress(cctx.get(), *job, name_);
            if (job->is_extent) {
                hash_clusters(*job);
            }
        } catch (...) {
            // (Reason 2: the caller's thread throws it again when it takes the piece.)
            job->error = std::current_exception();
        }
        {
            const std::lock_guard lock(mutex_);
            job->done = true;
        }
        done_.notify_all();
    }
}

}  // namespace pvediff::formats::detail
