// SPDX-License-Identifier: GPL-2.0-or-later
#include "sorted_table.h"

#include <algorithm>

#include "pvediff/io/bytes.h"

namespace pvediff::engine::detail {

SortedTable::SortedTable(TableReader read, std::uint64_t offset, std::uint64_t count,
                         std::vector<std::uint64_t> first_keys)
    : read_(std::move(read)), offset_(offset), count_(count), first_keys_(std::move(first_keys))
{
}

std::uint64_t SortedTable::memory_bytes() const
{
    std::uint64_t bytes = first_keys_.capacity() * sizeof(std::uint64_t);
    for (const CachedPage& p : cache_) {
        bytes += p.bytes.capacity();
    }
    return bytes;
}

std::optional<SortedTable::Hit> SortedTable::find(std::uint64_t key) const
{
    // The last page whose first key is <= key.
    const auto after = std::upper_bound(first_keys_.begin(), first_keys_.end(), key);
    if (after == first_keys_.begin()) {
        return std::nullopt;
    }
    const auto page = static_cast<std::uint64_t>(after - first_keys_.begin() - 1);
    const std::uint64_t first = page * table_page_records;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(table_page_records, count_ - first));
    const std::uint64_t page_offset = offset_ + first * table_record_size;

    const std::lock_guard<std::mutex> hold(*lock_);
    if (cache_.empty()) {
        cache_.resize(cache_slots);
    }
    CachedPage& slot = cache_[page % cache_slots];
    if (slot.page != page) {
        slot.page = ~std::uint64_t{0};  // a failed read leaves no stale page behind
        slot.bytes.resize(n * table_record_size);
        read_(page_offset, slot.bytes);
        slot.page = page;
    }
    // Binary search of the page's keys.
    std::size_t lo = 0;
    std::size_t hi = n;
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        const std::uint64_t k = io::load_le64(slot.bytes.data() + mid * table_record_size);
        if (k < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == n || io::load_le64(slot.bytes.data() + lo * table_record_size) != key) {
        return std::nullopt;
    }
    return Hit{io::load_le64(slot.bytes.data() + lo * table_record_size + 8),
               page_offset + lo * table_record_size};
}

}  // namespace pvediff::engine::detail
