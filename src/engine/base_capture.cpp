// SPDX-License-Identifier: GPL-2.0-or-later
#include "base_capture.h"

#include <algorithm>

#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

namespace {
constexpr std::size_t read_piece = 256 * 1024;
}

BaseCapture::BaseCapture(io::ByteSource& base, std::uint64_t lag, const std::filesystem::path& spill_dir,
                         BlockScan* scan)
    : base_(base), lag_(lag), scan_(scan), spill_(spill_dir)
{
    thread_ = std::thread([this] { run(); });
}

BaseCapture::~BaseCapture()
{
    stop_reader();
}

void BaseCapture::stop_reader()
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

void BaseCapture::run()
{
    try {
        std::vector<std::uint8_t> buf(read_piece);
        for (;;) {
            std::size_t want = 0;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stop_ || read_ < allowed_; });
                if (stop_) {
                    return;
                }
                want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), allowed_ - read_));
            }
            // Read without the lock: the decompressor is the slow part.
            const std::size_t got = base_.read(std::span<std::uint8_t>(buf.data(), want));
            if (scan_ != nullptr) {
                scan_->feed(read_, std::span<const std::uint8_t>(buf.data(), got));  // read_ is ours to read
            }
            {
                std::lock_guard lock(mutex_);
                keep(read_, std::span<const std::uint8_t>(buf.data(), got));
                read_ += got;
                eof_ = got == 0;
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

// Called with the lock held: keeps what the waiting captures want of base[pos, +size),
// each byte once however many captures want it.
void BaseCapture::keep(std::uint64_t pos, std::span<const std::uint8_t> bytes)
{
    const std::uint64_t end = pos + bytes.size();
    ranges_.clear();
    // Every waiting capture wants bytes from `pos` on (none is registered behind the
    // reader), so those starting before `end` are exactly the ones this piece feeds;
    // they come in ascending order of their start.
    while (!waiting_.empty() && waiting_.begin()->first < end) {
        const Ticket ticket = waiting_.begin()->second;
        waiting_.erase(waiting_.begin());
        Capture& c = captures_.at(ticket);
        const std::uint64_t to = std::min(c.hi, end);
        if (!ranges_.empty() && c.next <= ranges_.back().second) {
            ranges_.back().second = std::max(ranges_.back().second, to);
        } else {
            ranges_.emplace_back(c.next, to);
        }
        c.next = to;
        if (c.next < c.hi) {
            waiting_.emplace(c.next, ticket);
        }
    }
    for (const auto& [lo, hi] : ranges_) {
        const auto first =
            bytes.subspan(static_cast<std::size_t>(lo - pos), static_cast<std::size_t>(hi - lo));
        const std::uint64_t at = spill_.append(first);
        // Contiguous in the full and in the file: one extent.
        if (!extents_.empty()) {
            auto& [last_lo, last] = *extents_.rbegin();
            if (last_lo + last.length == lo && last.spill_offset + last.length == at) {
                last.length += hi - lo;
                continue;
            }
        }
        extents_.emplace(lo, Extent{at, hi - lo});
    }
}

BaseCapture::Ticket BaseCapture::request(std::uint64_t lo, std::uint64_t hi)
{
    std::lock_guard lock(mutex_);
    const Ticket ticket = next_ticket_++;
    Capture& c = captures_[ticket];
    hi = std::max(lo, hi);
    c.asked = lo;
    c.start = std::clamp(read_, lo, hi);
    c.next = c.start;
    c.hi = hi;
    missed_ += c.start - lo;
    if (c.next < c.hi && !eof_) {
        waiting_.emplace(c.next, ticket);
    }
    return ticket;
}

void BaseCapture::follow(std::uint64_t position)
{
    const std::uint64_t allow = position > lag_ ? position - lag_ : 0;
    {
        std::lock_guard lock(mutex_);
        if (allow <= allowed_) {
            return;
        }
        allowed_ = allow;
    }
    cv_.notify_all();
}

void BaseCapture::wait_past(std::uint64_t pos)
{
    std::unique_lock lock(mutex_);
    allowed_ = std::max(allowed_, pos);
    cv_.notify_all();
    cv_.wait(lock, [&] { return read_ >= pos || eof_; });
    if (error_) {
        std::rethrow_exception(error_);
    }
}

std::uint64_t BaseCapture::finish()
{
    wait_past(UINT64_MAX);
    stop_reader();
    return read_;
}

void BaseCapture::stop()
{
    stop_reader();
}

std::uint64_t BaseCapture::take(Ticket ticket, std::vector<std::uint8_t>& out)
{
    std::lock_guard lock(mutex_);
    out.clear();
    const auto it = captures_.find(ticket);
    if (it == captures_.end()) {
        return 0;
    }
    const Capture c = it->second;
    captures_.erase(it);
    out.resize(static_cast<std::size_t>(c.next - c.start));
    // Every byte of [start, next) went by while the capture waited: extents cover it.
    std::uint64_t pos = c.start;
    auto e = extents_.upper_bound(pos);
    while (pos < c.next) {
        if (e == extents_.begin()) {
            throw io::Error("base capture: bytes at " + std::to_string(pos) +
                            " were not kept (internal error)");
        }
        const auto& [e_lo, extent] = *std::prev(e);
        if (pos >= e_lo + extent.length) {
            throw io::Error("base capture: bytes at " + std::to_string(pos) +
                            " were not kept (internal error)");
        }
        const std::uint64_t n = std::min(c.next, e_lo + extent.length) - pos;
        spill_.read(extent.spill_offset + (pos - e_lo),
                    std::span<std::uint8_t>(out.data() + (pos - c.start), static_cast<std::size_t>(n)));
        pos += n;
        e = extents_.upper_bound(pos);
    }
    return c.start;
}

std::vector<BaseCapture::Missed> BaseCapture::missed()
{
    std::lock_guard lock(mutex_);
    std::vector<Missed> out;
    for (const auto& [ticket, c] : captures_) {
        if (c.start > c.asked) {
            out.push_back({ticket, c.asked, c.start});
        }
    }
    return out;
}

std::uint64_t BaseCapture::missed_bytes()
{
    std::lock_guard lock(mutex_);
    return missed_;
}

}  // namespace pvediff::engine::detail
