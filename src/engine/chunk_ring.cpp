// SPDX-License-Identifier: GPL-2.0-or-later
#include "chunk_ring.h"

#include <algorithm>
#include <cstring>

namespace pvediff::engine::detail {

namespace {
constexpr std::size_t read_piece = 256 * 1024;
}

BaseRing::BaseRing(io::ByteSource& base, std::size_t capacity) : base_(base), ring_(std::max(capacity, read_piece * 2))
{
    thread_ = std::thread([this] { run(); });
}

BaseRing::~BaseRing()
{
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void BaseRing::run()
{
    try {
        for (;;) {
            std::uint64_t pos = 0;
            std::size_t room = 0;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stop_ || written_ < release_ + ring_.size(); });
                if (stop_) {
                    return;
                }
                pos = written_;
                room = static_cast<std::size_t>(release_ + ring_.size() - written_);
            }
            const std::size_t at = static_cast<std::size_t>(pos % ring_.size());
            const std::size_t n = std::min({room, read_piece, ring_.size() - at});
            {
                // get() copies nothing from where this read may land.
                std::lock_guard lock(mutex_);
                reserved_ = pos + n;
            }
            const std::size_t got = base_.read(std::span<std::uint8_t>(ring_.data() + at, n));
            {
                std::lock_guard lock(mutex_);
                written_ += got;
                reserved_ = written_;
                if (got == 0) {
                    eof_ = true;
                }
            }
            cv_.notify_all();
            if (got == 0) {
                return;
            }
        }
    } catch (...) {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
        eof_ = true;
        cv_.notify_all();
    }
}

void BaseRing::release_below(std::uint64_t pos)
{
    {
        std::lock_guard lock(mutex_);
        if (pos <= release_) {
            return;
        }
        release_ = pos;
    }
    cv_.notify_all();
}

std::uint64_t BaseRing::reader_position()
{
    std::lock_guard lock(mutex_);
    return written_;
}

std::uint64_t BaseRing::get(std::uint64_t lo, std::uint64_t hi, std::vector<std::uint8_t>& out)
{
    out.clear();
    if (hi <= lo) {
        return lo;
    }
    const std::uint64_t cap = ring_.size();
    if (hi - lo > cap) {
        lo = hi - cap;
    }
    std::unique_lock lock(mutex_);
    // Wait only for what the reader may fetch under the current release mark: moving
    // the mark here for one far-off range would evict what the next ranges need.
    const std::uint64_t reachable = std::min(hi, release_ + cap);
    cv_.wait(lock, [&] { return written_ >= reachable || eof_; });
    if (error_) {
        std::rethrow_exception(error_);
    }
    hi = std::min(hi, written_);
    // Byte x is intact while x >= reserved_ - capacity (the reader's next read lands
    // below reserved_); the lock, held while copying, keeps the reader from reserving more.
    const std::uint64_t oldest = reserved_ > cap ? reserved_ - cap : 0;
    const std::uint64_t from = std::max(lo, oldest);
    if (from >= hi) {
        return hi;
    }
    out.resize(static_cast<std::size_t>(hi - from));
    std::size_t done = 0;
    while (done < out.size()) {
        const std::size_t at = static_cast<std::size_t>((from + done) % cap);
        const std::size_t n = std::min(out.size() - done, static_cast<std::size_t>(cap) - at);
        std::memcpy(out.data() + done, ring_.data() + at, n);
        done += n;
    }
    return from;
}

std::uint64_t BaseRing::finish()
{
    release_below(UINT64_MAX / 2);
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return eof_; });
    lock.unlock();
    if (thread_.joinable()) {
        thread_.join();
    }
    if (error_) {
        std::rethrow_exception(error_);
    }
    return written_;
}

}  // namespace pvediff::engine::detail
