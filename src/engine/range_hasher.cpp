// SPDX-License-Identifier: GPL-2.0-or-later
#include "range_hasher.h"

#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

namespace {
constexpr unsigned length_bits = 25;  // max_length (2^24) fits
static_assert(RangeHasher::max_length < (std::uint64_t{1} << length_bits));
static_assert(RangeHasher::max_slot <= (std::uint64_t{1} << (64 - length_bits)));
}  // namespace

void RangeHasher::want(std::uint64_t offset, std::uint64_t length, Slot slot)
{
    if (feeding_) {
        throw io::Error("range hasher: want() after feed()");
    }
    if (slot >= max_slot) {
        throw io::Error("range hasher: slot out of range");
    }
    if (length == 0 || length > max_length) {
        return;  // never reported: a piece that needs it stays unproven
    }
    wants_.add(offset, slot << length_bits | length);
}

void RangeHasher::pull()
{
    Record r;
    have_head_ = wants_.next(r);
    if (have_head_) {
        head_ = Want{r.key, r.value & ((std::uint64_t{1} << length_bits) - 1), r.value >> length_bits};
    }
}

void RangeHasher::feed(std::uint64_t pos, std::span<const std::uint8_t> bytes,
                       const std::function<void(Slot, const ProofHash&)>& found)
{
    if (!feeding_) {
        feeding_ = true;
        pull();
    }
    const std::uint64_t end = pos + bytes.size();
    if (!held_.empty()) {
        held_.insert(held_.end(), bytes.begin(), bytes.end());
    }
    // Ranges complete in the order of their start: one that ends later holds back the
    // ones after it (in held_, at most max_length plus a piece).
    while (have_head_ && head_.offset + head_.length <= end) {
        const Want& w = head_;
        if (w.offset == prev_offset_ && w.length == prev_length_) {
            found(w.slot, prev_hash_);  // the same range asked again (repeated content)
            pull();
            continue;
        }
        std::span<const std::uint8_t> range;
        if (w.offset >= pos) {
            range =
                bytes.subspan(static_cast<std::size_t>(w.offset - pos), static_cast<std::size_t>(w.length));
        } else if (!held_.empty() && w.offset >= held_from_) {
            range = std::span<const std::uint8_t>(held_).subspan(
                static_cast<std::size_t>(w.offset - held_from_), static_cast<std::size_t>(w.length));
        } else {
            pull();  // began before what was kept: cannot happen with sorted ranges
            continue;
        }
        prev_offset_ = w.offset;
        prev_length_ = w.length;
        prev_hash_ = key_.hash(range);
        found(w.slot, prev_hash_);
        pull();
    }
    if (have_head_ && head_.offset < end) {
        const std::uint64_t keep_from = head_.offset;
        if (held_.empty()) {
            if (keep_from >= pos) {
                held_.assign(bytes.begin() + static_cast<std::ptrdiff_t>(keep_from - pos), bytes.end());
                held_from_ = keep_from;
            }
        } else if (keep_from > held_from_) {
            held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(keep_from - held_from_));
            held_from_ = keep_from;
        }
    } else {
        held_.clear();
    }
}

}  // namespace pvediff::engine::detail
