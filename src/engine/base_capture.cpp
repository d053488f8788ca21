// SPDX-License-Identifier: GPL-2.0-or-later
#include "base_capture.h"

#include <algorithm>

#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

namespace {
// A range's end shares its 64 bits with the taken flag (BaseCapture::Capture).
void check_end(std::uint64_t hi)
{
    if (hi >= std::uint64_t{1} << 63) {
        throw io::Error("base capture: range beyond 2^63 (internal error)");
    }
}
}  // namespace

BaseCapture::Ticket BaseCapture::request(std::uint64_t lo, std::uint64_t hi)
{
    lo = std::max(lo, kept_to_);
    hi = std::max(lo, hi);
    check_end(hi);
    captures_.push_back(Capture{lo, hi, false});
    const Ticket ticket = captures_.size();
    if (hi > lo) {
        if (reading_) {
            waiting_.emplace(lo, ticket);
        } else {
            asked_before_.add(lo, ticket);
        }
    }
    return ticket;
}

std::uint64_t BaseCapture::next_of(const Capture& c) const
{
    return std::min<std::uint64_t>(c.hi, std::max(c.start, kept_to_));
}

void BaseCapture::begin_before(std::uint64_t end)
{
    while (have_asked_ && next_asked_.key < end) {
        waiting_.emplace(next_asked_.key, next_asked_.value);
        have_asked_ = asked_before_.next(next_asked_);
    }
}

BaseCapture::Capture* BaseCapture::find(Ticket ticket)
{
    if (ticket == 0 || ticket > captures_.size() || captures_[ticket - 1].taken) {
        return nullptr;
    }
    return &captures_[ticket - 1];
}

bool BaseCapture::extend(Ticket ticket, std::uint64_t hi)
{
    Capture* c = find(ticket);
    if (c == nullptr) {
        throw io::Error(fmt::format("base capture: no range {} to extend (internal error)", ticket));
    }
    if (hi <= c->hi) {
        return true;
    }
    check_end(hi);
    if (next_of(*c) == c->hi) {  // no longer waiting
        if (c->hi < kept_to_) {
            return false;
        }
        waiting_.emplace(std::uint64_t{c->hi}, ticket);
    }
    c->hi = hi;
    return true;
}

std::uint64_t BaseCapture::read_all(io::ByteSource& base, const Observer& observe)
{
    reading_ = true;
    have_asked_ = asked_before_.next(next_asked_);
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
    begin_before(end);
    ranges_.clear();
    // Every waiting capture wants bytes from `pos` on, so those starting before `end`
    // are exactly the ones this piece feeds; they come in ascending order of start.
    while (!waiting_.empty() && waiting_.top().first < end) {
        const Ticket ticket = waiting_.top().second;
        waiting_.pop();
        const Capture& c = captures_[ticket - 1];
        const std::uint64_t next = next_of(c);  // kept_to_ is `pos` here: where it waits
        const std::uint64_t to = std::min<std::uint64_t>(c.hi, end);
        if (!ranges_.empty() && next <= ranges_.back().second) {
            ranges_.back().second = std::max(ranges_.back().second, to);
        } else {
            ranges_.emplace_back(next, to);
        }
        if (to < c.hi) {
            waiting_.emplace(to, ticket);
        }
    }
    for (const auto& [lo, hi] : ranges_) {
        const auto part =
            bytes.subspan(static_cast<std::size_t>(lo - pos), static_cast<std::size_t>(hi - lo));
        const std::uint64_t at = spill_.append(part);
        // Contiguous in the full and in the file: one extent.
        if (!extents_.empty()) {
            Extent& last = extents_.back();
            if (last.base_offset + last.length == lo && last.spill_offset + last.length == at) {
                last.length += hi - lo;
                continue;
            }
        }
        extents_.push_back(Extent{lo, at, hi - lo});
    }
}

std::uint64_t BaseCapture::take(Ticket ticket, std::vector<std::uint8_t>& out)
{
    out.clear();
    Capture* found = find(ticket);
    if (found == nullptr) {
        return 0;
    }
    found->taken = true;
    const Capture c = *found;
    const std::uint64_t kept_end = next_of(c);
    out.resize(static_cast<std::size_t>(kept_end - c.start));
    // Every byte of [start, kept_end) went by while the capture waited: extents cover it.
    for (std::uint64_t pos = c.start; pos < kept_end;) {
        const auto e = std::upper_bound(extents_.begin(), extents_.end(), pos,
                                        [](std::uint64_t p, const Extent& x) { return p < x.base_offset; });
        if (e == extents_.begin() || pos >= std::prev(e)->base_offset + std::prev(e)->length) {
            throw io::Error(fmt::format("base capture: bytes at {} were not kept (internal error)", pos));
        }
        const Extent& extent = *std::prev(e);
        const std::uint64_t n = std::min(kept_end, extent.base_offset + extent.length) - pos;
        spill_.read(extent.spill_offset + (pos - extent.base_offset),
                    std::span<std::uint8_t>(out.data() + (pos - c.start), static_cast<std::size_t>(n)));
        pos += n;
    }
    return c.start;
}

}  // namespace pvediff::engine::detail
