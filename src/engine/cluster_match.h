// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Where in the full the old content of a piece of the new archive is likely to be:
// how VMA clusters are matched, and which of several equal places a copy points at.
//
// VMA writers store clusters in no fixed order (docs/vma-format.md), so a changed
// cluster's old version is found by its position on the disk, not in the stream:
// - by (device, cluster number), through the chunk index's cluster table;
// - by anchors: one sampled 4 KiB block of the cluster found elsewhere on the old
//   disk gives the shift of the whole cluster (a file copied or moved inside the
//   guest), hence the one or two old clusters its blocks span;
// - by its disk neighbours: the shift an anchor showed for a neighbour (before or
//   after it in the stream) is likely its own.
// Stream formats (tar, unknown) have no clusters; there a run of copies of repeated
// content is followed as a chain (follow_chain).
//
// Only guesses: every range guessed is read and matched byte by byte later, so a
// wrong guess costs matches, never correctness. Memory is bounded (max_shifts).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "pvediff/engine/chunk_chunker.h"
#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/engine/chunk_index.h"

namespace pvediff::engine::detail {

class ClusterMatch {
public:
    // Old clusters matched against one changed cluster, at most (x 64 KiB): its own
    // old version, the two a shifted copy spans, and one from a second guess.
    static constexpr std::size_t max_old_clusters = 4;

    ClusterMatch(const ChunkIndex& index, ChunkEncodeStats& stats) : index_(index), stats_(stats) {}

    // The index knows the first place of each content in the full. Where the same
    // content may also sit where this chunk is expected (right after the previous
    // copy; for a VMA cluster, where that cluster used to be), that place is better:
    // one long copy instead of a jump back, and a restore keeps reading in order.
    // The caller has it confirmed during the read of the full.
    [[nodiscard]] std::optional<std::uint64_t> likelier_place(const Chunk& chunk,
                                                              const ChunkLocation& first) const;
    // After a copy planned at loc (and alt, the likelier place asked for, if any):
    // where the next chunk of a stream is expected.
    void follow_chain(const std::optional<std::uint64_t>& alt, const ChunkLocation& loc);
    // Changed bytes were planned: where the next hit goes is open.
    void break_chain() { chain_.reset(); }

    // Called for a plan item that waits for its old clusters: the item's number and
    // an old cluster to match it against.
    using PlaceWaiting = std::function<void(std::size_t item, const ChunkLocation& old)>;
    // The full's clusters a changed cluster's bytes may come from (at most
    // max_old_clusters, most likely first). `anchored` tells whether an anchor among
    // its blocks placed it. An anchor also places the waiting disk neighbours (see
    // wait_for_anchor) through `place`.
    std::vector<ChunkLocation> old_clusters(std::uint64_t key, std::span<const std::uint8_t> bytes,
                                            bool& anchored, const PlaceWaiting& place);
    // A changed cluster no anchor of its own placed: plan item `item` waits for an
    // anchor in a disk neighbour processed later.
    void wait_for_anchor(std::uint64_t key, std::size_t item);
    // The plan was written: no item waits any more.
    void clear_waiting() { unplaced_.clear(); }

private:
    void place_neighbours(std::uint64_t key, std::uint64_t shift, const PlaceWaiting& place);

    const ChunkIndex& index_;
    ChunkEncodeStats& stats_;
    std::optional<std::uint64_t> chain_;  // see follow_chain()
    std::uint32_t chain_guesses_ = 0;
    // Old key - new key (mod 2^64) where an anchor placed a changed cluster.
    std::unordered_map<std::uint64_t, std::uint64_t> shifts_;
    std::uint64_t last_shift_ = 0;
    // Changed clusters that no anchor of their own placed: key -> plan item.
    std::unordered_map<std::uint64_t, std::size_t> unplaced_;
};

}  // namespace pvediff::engine::detail
