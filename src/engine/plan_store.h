// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The chunk encoder's plan: one item per copy (merged up to 1 MiB) and per changed
// region of the whole archive, made while the new archive is read and written out as
// instructions only after the full has been read. A VM's VMA has one item per 64 KiB
// cluster (its clusters come in another order each day, so copies seldom merge):
// 16,000 per GiB, 16 M at 1 TiB. So the items go to a scratch file in order as they
// are made and are read back by position through a small cache; what the read of the
// full learns about an item afterwards (ItemMarks) stays in memory, one byte each.
//
// Every pass over the plan walks it in order with a short look-ahead (far copies,
// the proof's source ranges, the instructions); the read of the full asks for items
// in the order of their sources, which for a VMA is close to plan order.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <type_traits>
#include <vector>

#include "pvediff/engine/copy_proof.h"
#include "range_check.h"
#include "spill_file.h"

namespace pvediff::engine::detail {

// Whether the read of the full hashed a copy's source range, and how it compared with
// the new archive's bytes there (with a proof; copy_proof.h).
enum class SourceSeen : std::uint8_t { no, same, differs };

// One instruction waiting to be written: a copy found by chunk lookup, or changed
// bytes with the full's ranges to match them against. Set when made, never changed
// once the next item is made (the last one may still grow by merging).
struct PlanItem {
    // With a proof: the keyed hash of the new archive's bytes as read.
    ProofHash target_hash{};
    std::uint64_t source = 0;      // copy: offset in the full
    std::uint64_t alt_source = 0;  // copy: the same bytes there too, if `check` confirms it
    std::uint32_t length = 0;      // bytes of the new archive it stands for
    std::uint32_t adler = 1;       // copy: adler32 of the bytes (they are not kept)
    RangeCheck::Id check = 0;      // copy, if has_check: the read's check of alt_source
    bool changed : 1 = false;
    bool has_check : 1 = false;
    bool from_alt : 1 = false;  // copy: written from alt_source (set while written)
};
static_assert(std::is_trivially_copyable_v<PlanItem>, "items are stored as bytes");
static_assert(sizeof(PlanItem) <= 48, "written to scratch disk for every copy of the whole archive");

// What is learnt of an item after it was made, by position: kept in memory.
struct ItemMarks {
    std::uint8_t tickets : 3 = 0;  // changed: ranges of the full asked for it
    // copy: too far ahead to be worth it (ChunkEncoderOptions::far_copy_ratio): its
    // source bytes are captured on the read of the full and written as literals.
    bool far : 1 = false;
    SourceSeen source_seen : 2 = SourceSeen::no;
    SourceSeen alt_seen : 2 = SourceSeen::no;
};
static_assert(sizeof(ItemMarks) == 1, "one byte per item of the whole archive");

class PlanStore {
public:
    explicit PlanStore(const std::filesystem::path& spill_dir) : file_(spill_dir) {}

    void push(const PlanItem& item);
    // The last item, still open to merging.
    [[nodiscard]] PlanItem& back() { return last_; }
    [[nodiscard]] std::size_t size() const { return marks_.size(); }
    [[nodiscard]] bool empty() const { return marks_.empty(); }
    // The item at `at` as made (the last one as it is now).
    [[nodiscard]] PlanItem get(std::size_t at);
    [[nodiscard]] ItemMarks& marks(std::size_t at) { return marks_[at]; }
    // Forgets every item and gives the scratch space back.
    void clear();

private:
    static constexpr std::size_t block_items = 64;    // read back in blocks of this many
    static constexpr std::size_t cached_blocks = 64;  // 192 KiB, direct-mapped
    static constexpr std::size_t write_items = 1024;  // appended to the file in batches
    static_assert(write_items % block_items == 0, "the file holds whole blocks");
    struct Block {
        std::size_t first = SIZE_MAX;  // the position of its first item; SIZE_MAX: empty
        std::array<PlanItem, block_items> items;
    };

    SpillFile file_;
    std::size_t stored_ = 0;         // items in the file
    std::vector<PlanItem> pending_;  // items made after those, before the last
    PlanItem last_{};
    std::deque<ItemMarks> marks_;
    std::vector<Block> cache_;
};

}  // namespace pvediff::engine::detail
