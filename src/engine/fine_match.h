// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Byte-level matching of a changed region of the new archive against the bytes of
// the full around where it used to be: what chunk lookups miss (a 4 KiB page
// rewritten in a 64 KiB chunk, a line appended to a log) comes out as copies of the
// unchanged parts and literals of the changed ones only.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_writer.h"

namespace pvediff::engine::detail {

// One changed region and the pieces of the full to match it against. Matching reads
// and writes nothing else, so jobs can be matched on any thread and in any order
// (fine_match_pool.h), then written in order.
struct FineMatchJob {
    struct Piece {
        std::size_t begin;  // in base
        std::size_t end;
        std::uint64_t full_offset;
    };
    // What matching found, in target order: target[target_at, +length) is a copy of
    // base[base_at, +length) (at full_offset in the full), or literal bytes.
    struct Instruction {
        std::size_t target_at;
        std::size_t length;
        bool copy;
        std::size_t base_at;
        std::uint64_t full_offset;
    };
    std::vector<std::uint8_t> target;
    std::vector<std::uint8_t> base;  // the pieces, one after another
    std::vector<Piece> pieces;
    std::vector<Instruction> instructions;  // FineMatcher::match's result
    // Where in the full the copy right after this region begins, when one follows: a
    // run of one byte value at the region's end is likely just before it.
    std::optional<std::uint64_t> next_copy_at;

    // Adds a piece of the full (bytes are copied).
    void add_base(std::span<const std::uint8_t> bytes, std::uint64_t full_offset);
    [[nodiscard]] std::size_t bytes() const { return target.size() + base.size(); }
};

class FineMatcher {
public:
    // Matches shorter than this are not worth a COPY instruction.
    static constexpr std::size_t min_match = 32;

    // Fills job.instructions. Only the tables are the matcher's (reused from job to
    // job): one matcher per thread.
    // Memory: a table of 2 to 4 slots of 8 bytes per 8 bytes of the pieces.
    void match(FineMatchJob& job);

    // The same on this thread, for one region: call add_base() for each piece of the
    // full (bytes are copied), then encode(); the pieces are dropped after it.
    void add_base(std::span<const std::uint8_t> bytes, std::uint64_t full_offset);
    // Writes `target` to `writer` as copies from the pieces and literals, and records
    // each in `proof` when given (copy_proof.h).
    void encode(std::span<const std::uint8_t> target, VcdiffWriter& writer, CopyProof* proof = nullptr);

private:
    struct Slot {
        std::uint32_t key;  // 32 bits of the hash, 0 = empty
        std::uint32_t position;
    };
    // The table, in anonymous memory of its own: malloc kept a large region's table
    // resident in each worker's arena after it was freed (+40 MB RSS on the tar pair).
    class SlotTable {
    public:
        SlotTable() = default;
        ~SlotTable();
        SlotTable(const SlotTable&) = delete;
        SlotTable& operator=(const SlotTable&) = delete;
        // `n` empty slots; the mapping is reused when large enough.
        void reset(std::size_t n);
        void release();  // gives the memory back
        Slot& operator[](std::size_t i) { return slots_[i]; }
        [[nodiscard]] std::size_t mapped_bytes() const { return bytes_; }

    private:
        Slot* slots_ = nullptr;
        std::size_t bytes_ = 0;
    };
    SlotTable slots_;
    FineMatchJob single_;  // add_base() + encode()
};

// Fills job.instructions by comparing the target with its one base piece at the same
// offsets, for records whose fields keep their place (a VMA extent header): there equal
// bytes are the same field unchanged, and runs of `min_copy` bytes, shorter than
// FineMatcher finds, are worth a COPY (the one right after a copy of the bytes before
// it in the full costs nothing: the writer makes one COPY of both).
void match_in_place(FineMatchJob& job, std::size_t min_copy);

// Writes a matched job's instructions to `writer` and records each in `proof` when
// given: copies with the hash of both sides, each whole in one window.
void write_matched(const FineMatchJob& job, VcdiffWriter& writer, CopyProof* proof);

}  // namespace pvediff::engine::detail
