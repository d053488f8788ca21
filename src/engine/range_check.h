// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Checks, during the one read of the full, whether given ranges of it hold given
// content (by XXH3-64, the chunk hash). The index names one place for each content,
// the first; when the same content is in the full several times (identical files, a
// file's old copy), the encoder asks whether it is also where the copy before it ended
// (or, for a VMA cluster, where that cluster used to be). Copying from there keeps
// copies contiguous (smaller deltas) and keeps a restore reading the full in order
// instead of going back to the first occurrence. Memory: ~32 bytes per range asked.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pvediff::engine::detail {

class RangeCheck {
public:
    using Id = std::uint32_t;
    // Ranges checked at most; beyond, ask() declines (the first occurrence is used).
    static constexpr std::size_t max_asks = std::size_t{1} << 20;

    // Asks whether full[lo, lo + length) hashes to `hash` (before feed()); nothing when
    // the table is full.
    std::optional<Id> ask(std::uint64_t lo, std::uint32_t length, std::uint64_t hash);
    // The full's stream, in order, in pieces of any size.
    void feed(std::uint64_t pos, std::span<const std::uint8_t> bytes);
    // After the whole full went by: whether the range held the content.
    [[nodiscard]] bool holds(Id id) const { return held_[id] != 0; }
    [[nodiscard]] std::uint64_t held_count() const { return held_count_; }

private:
    struct Ask {
        std::uint64_t lo;
        std::uint64_t hash;
        std::uint32_t length;
    };
    struct Partial {
        Id id;
        std::vector<std::uint8_t> bytes;  // the range's first bytes, from earlier pieces
    };
    void settle(Id id, std::span<const std::uint8_t> bytes);

    std::vector<Ask> asks_;
    std::vector<std::uint8_t> held_;
    std::vector<Id> by_start_;  // asks_ sorted by lo, at the first feed()
    std::size_t next_ = 0;      // in by_start_: the first ask not yet begun
    bool sorted_ = false;
    std::vector<Partial> partial_;  // begun, not complete: they straddle pieces
    std::uint64_t held_count_ = 0;
};

}  // namespace pvediff::engine::detail
