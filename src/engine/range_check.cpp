// SPDX-License-Identifier: GPL-2.0-or-later
#include "range_check.h"

#include <xxhash.h>

#include <algorithm>

namespace pvediff::engine::detail {

std::optional<RangeCheck::Id> RangeCheck::ask(std::uint64_t lo, std::uint32_t length, std::uint64_t hash)
{
    if (asks_.size() >= max_asks || length == 0 || sorted_) {
        return std::nullopt;
    }
    asks_.push_back({lo, hash, length});
    held_.push_back(0);
    return static_cast<Id>(asks_.size() - 1);
}

void RangeCheck::settle(Id id, std::span<const std::uint8_t> bytes)
{
    if (XXH3_64bits(bytes.data(), bytes.size()) == asks_[id].hash) {
        held_[id] = 1;
        ++held_count_;
    }
}

void RangeCheck::feed(std::uint64_t pos, std::span<const std::uint8_t> bytes)
{
    if (!sorted_) {
        by_start_.resize(asks_.size());
        for (Id i = 0; i < by_start_.size(); ++i) {
            by_start_[i] = i;
        }
        std::sort(by_start_.begin(), by_start_.end(),
                  [this](Id a, Id b) { return asks_[a].lo < asks_[b].lo; });
        sorted_ = true;
    }
    const std::uint64_t end = pos + bytes.size();
    // Ranges begun in earlier pieces take what they still need from this one.
    for (auto it = partial_.begin(); it != partial_.end();) {
        const Ask& a = asks_[it->id];
        const std::uint64_t have = it->bytes.size();
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(a.length - have, bytes.size()));
        it->bytes.insert(it->bytes.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
        if (it->bytes.size() == a.length) {
            settle(it->id, it->bytes);
            it = partial_.erase(it);
        } else {
            ++it;
        }
    }
    // Ranges starting in this piece: sorted by start, so every earlier one has begun.
    for (; next_ < by_start_.size() && asks_[by_start_[next_]].lo < end; ++next_) {
        const Id id = by_start_[next_];
        const Ask& a = asks_[id];
        const auto from = static_cast<std::size_t>(a.lo - pos);
        if (a.lo + a.length <= end) {
            settle(id, bytes.subspan(from, a.length));
        } else {
            partial_.push_back({id, std::vector<std::uint8_t>(
                                        bytes.begin() + static_cast<std::ptrdiff_t>(from), bytes.end())});
        }
    }
}

}  // namespace pvediff::engine::detail
