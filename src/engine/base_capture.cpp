// SPDX-License-Identifier: GPL-2.0-or-later
#include "base_capture.h"

#include <algorithm>

#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

BaseCapture::Ticket BaseCapture::request(std::uint64_t lo, std::uint64_t hi)
{
    const Ticket ticket = next_ticket_++;
    lo = std::max(lo, kept_to_);
    captures_[ticket] = Capture{lo, lo, std::max(lo, hi)};
    if (hi > lo) {
        waiting_.emplace(lo, ticket);
    }
    return ticket;
}

bool BaseCapture::extend(Ticket ticket, std::uint64_t hi)
{
    Capture& c = captures_.at(ticket);
    if (hi <= c.hi) {
        return true;
    }
    if (c.next == c.hi) {  // no longer waiting
        if (c.next < kept_to_) {
            return false;
        }
        waiting_.emplace(c.next, ticket);
    }
    c.hi = hi;
    return true;
}

std::uint64_t BaseCapture::read_all(io::ByteSource& base, const Observer& observe)
{
    // Piece k is observed before piece k - 1 is kept.
    std::vector<std::uint8_t> buf(io::stream_buffer_size);
    std::vector<std::uint8_t> previous(io::stream_buffer_size);
    std::size_t previous_size = 0;
    std::uint64_t pos = 0;
    for (;;) {
        const std::size_t got = base.read(buf);
        if (got > 0) {
            observe(pos, std::span<const std::uint8_t>(buf.data(), got));
        }
        if (previous_size > 0) {
            keep(kept_to_, std::span<const std::uint8_t>(previous.data(), previous_size));
            kept_to_ += previous_size;
        }
        if (got == 0) {
            return pos;
        }
        std::swap(buf, previous);
        previous_size = got;
        pos += got;
    }
}

// Keeps what the waiting captures want of base[pos, +size), each byte once however
// many captures want it.
void BaseCapture::keep(std::uint64_t pos, std::span<const std::uint8_t> bytes)
{
    const std::uint64_t end = pos + bytes.size();
    ranges_.clear();
    // Every waiting capture wants bytes from `pos` on, so those starting before `end`
    // are exactly the ones this piece feeds; they come in ascending order of start.
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
        const auto part =
            bytes.subspan(static_cast<std::size_t>(lo - pos), static_cast<std::size_t>(hi - lo));
        const std::uint64_t at = spill_.append(part);
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

std::uint64_t BaseCapture::take(Ticket ticket, std::vector<std::uint8_t>& out)
{
    out.clear();
    const auto it = captures_.find(ticket);
    if (it == captures_.end()) {
        return 0;
    }
    const Capture c = it->second;
    captures_.erase(it);
    out.resize(static_cast<std::size_t>(c.next - c.start));
    // Every byte of [start, next) went by while the capture waited: extents cover it.
    for (std::uint64_t pos = c.start; pos < c.next;) {
        const auto e = extents_.upper_bound(pos);
        if (e == extents_.begin() || pos >= std::prev(e)->first + std::prev(e)->second.length) {
            throw io::Error(fmt::format("base capture: bytes at {} were not kept (internal error)", pos));
        }
        const auto& [e_lo, extent] = *std::prev(e);
        const std::uint64_t n = std::min(c.next, e_lo + extent.length) - pos;
        spill_.read(extent.spill_offset + (pos - e_lo),
                    std::span<std::uint8_t>(out.data() + (pos - c.start), static_cast<std::size_t>(n)));
        pos += n;
    }
    return c.start;
}

}  // namespace pvediff::engine::detail
