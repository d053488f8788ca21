// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Hashes ranges of the full during its one read, for the proof (copy_proof.h): the
// chunk encoder asks for every copy's source range, then the full streams by in
// order and each range's keyed hash is reported as soon as its last byte went by.
//
// A VM's VMA has a copy per 64 KiB cluster, 14,000 ranges per GiB, 15 M at 1 TiB, in
// the order of the new archive. So they are sorted by offset on scratch disk
// (RecordSorter: runs of 4 MiB, merged as the full's read reaches them), not in
// memory: a fixed 4-8 MiB whatever the guest's size, plus the bytes of the longest
// range that straddles the read's pieces.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "pvediff/engine/copy_proof.h"
#include "record_sort.h"

namespace pvediff::engine::detail {

class RangeHasher {
public:
    static constexpr std::uint64_t max_length = std::uint64_t{16} << 20;
    using Slot = std::uint64_t;
    // Slots below this: one sorted record holds a range's slot and length.
    static constexpr Slot max_slot = Slot{1} << 39;

    RangeHasher(const ProofKey& key, const std::filesystem::path& scratch_dir)
        : key_(key), wants_(scratch_dir)
    {
    }
    // Before feed(): wants the hash of full[offset, +length) reported for `slot`
    // (below max_slot). Any order, any overlap.
    void want(std::uint64_t offset, std::uint64_t length, Slot slot);
    // The full's stream in order, in pieces of any size; calls `found` for each range
    // as soon as its last byte went by. Ranges beyond the end are never reported.
    void feed(std::uint64_t pos, std::span<const std::uint8_t> bytes,
              const std::function<void(Slot, const ProofHash&)>& found);
    [[nodiscard]] std::uint64_t wanted() const { return wants_.count(); }

private:
    struct Want {
        std::uint64_t offset = 0;
        std::uint64_t length = 0;
        Slot slot = 0;
    };
    // The next range by offset into head_ (have_head_ false after the last).
    void pull();

    const ProofKey& key_;
    RecordSorter wants_;  // key: offset; value: slot << 25 | length
    bool feeding_ = false;
    bool have_head_ = false;
    Want head_;                       // the next range to report, when have_head_
    std::vector<std::uint8_t> held_;  // full[held_from_, end of last piece) when not empty
    std::uint64_t held_from_ = 0;
    std::uint64_t prev_offset_ = ~std::uint64_t{0};
    std::uint64_t prev_length_ = 0;
    ProofHash prev_hash_{};
};

}  // namespace pvediff::engine::detail
