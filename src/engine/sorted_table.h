// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A table of (key, value) records sorted by key, strictly ascending, 16 bytes each
// (two u64 little-endian), looked up in its file rather than on the heap: in memory
// only a directory of the first key of every page of 256 records (8 bytes per 4 KiB
// of table, 0.2 %) and a small cache of pages. A lookup is a binary search of the
// directory and, on a cache miss, one pread of a 4 KiB page.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pvediff::engine::detail {

// Reads bytes of the file the tables are in (the sidecar, or a scratch file).
using TableReader = std::function<void(std::uint64_t offset, std::span<std::uint8_t> out)>;

inline constexpr std::size_t table_record_size = 16;
inline constexpr std::size_t table_page_records = 256;  // 4 KiB

// Collects the directory of a table while its records go by in order, once.
class TableDirectory {
public:
    // Records must come in order; returns false for a key not above the one before.
    bool note(std::uint64_t key)
    {
        if (count_ > 0 && key <= last_) {
            return false;
        }
        if (count_ % table_page_records == 0) {
            first_keys_.push_back(key);
        }
        last_ = key;
        ++count_;
        return true;
    }
    [[nodiscard]] std::uint64_t count() const { return count_; }
    std::vector<std::uint64_t> take() { return std::move(first_keys_); }

private:
    std::vector<std::uint64_t> first_keys_;
    std::uint64_t last_ = 0;
    std::uint64_t count_ = 0;
};

class SortedTable {
public:
    SortedTable() = default;
    // `count` records at `offset` of the file `read` reads, with their directory.
    SortedTable(TableReader read, std::uint64_t offset, std::uint64_t count,
                std::vector<std::uint64_t> first_keys);

    // The value of `key`, and the offset of its record in the file.
    struct Hit {
        std::uint64_t value = 0;
        std::uint64_t offset = 0;
    };
    [[nodiscard]] std::optional<Hit> find(std::uint64_t key) const;
    [[nodiscard]] std::uint64_t offset() const { return offset_; }
    [[nodiscard]] std::uint64_t count() const { return count_; }
    [[nodiscard]] std::uint64_t memory_bytes() const;

private:
    // Pages of the table kept, by page number modulo the slot count.
    static constexpr std::size_t cache_slots = 64;  // 256 KiB
    struct CachedPage {
        std::uint64_t page = ~std::uint64_t{0};
        std::vector<std::uint8_t> bytes;
    };

    TableReader read_;
    std::uint64_t offset_ = 0;
    std::uint64_t count_ = 0;
    std::vector<std::uint64_t> first_keys_;
    // Lookups are const to their callers; the cache is shared by them.
    std::unique_ptr<std::mutex> lock_ = std::make_unique<std::mutex>();
    mutable std::vector<CachedPage> cache_;
};

}  // namespace pvediff::engine::detail
