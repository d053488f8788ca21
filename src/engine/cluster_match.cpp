// SPDX-License-Identifier: GPL-2.0-or-later
#include "cluster_match.h"

#include <algorithm>
#include <array>

namespace pvediff::engine::detail {

namespace {

// Cluster keys are (dev << 48) | (cluster << 4): the next cluster is 16 further, and
// key | n is the disk block number of the cluster's block n.
constexpr std::uint64_t cluster_step = 16;
constexpr std::uint64_t block_mask = 15;
// Anchor shifts and unplaced clusters remembered (~40 bytes each); forgotten all at
// once beyond, which costs matches, never correctness.
constexpr std::size_t max_shifts = std::size_t{1} << 20;
// Places guessed in a row for repeated content before the guessing stops (see
// follow_chain); x 32 KiB chunks, 8 MiB.
constexpr std::uint32_t max_chain_guesses = 256;

// The one or two old cluster keys that hold the 16 disk blocks starting at disk
// block `from` (0: none).
std::array<std::uint64_t, 2> spanned_clusters(std::uint64_t from)
{
    return {from & ~block_mask, (from & block_mask) != 0 ? (from | block_mask) + 1 : 0};
}

}  // namespace

std::optional<std::uint64_t> ClusterMatch::likelier_place(const Chunk& chunk,
                                                          const ChunkLocation& first) const
{
    std::optional<std::uint64_t> expected;
    if (chunk.cluster_key != 0) {
        if (const auto old = index_.find_cluster(chunk.cluster_key); old && old->length == chunk.length) {
            expected = old->offset;
        }
    } else if (chain_ && first.offset < *chain_) {
        // The first place of a content is behind its later ones: only a jump back
        // can be a repeated content.
        expected = chain_;
    }
    if (!expected || *expected == first.offset || *expected + chunk.length > index_.content_size()) {
        return std::nullopt;
    }
    return expected;
}

// After this chunk, at the place asked for if any (a repeated file of many chunks
// jumps back at each one). Whether that place was right is only known after the read
// of the full, so after a chunk moved back that is not a repeat, the chain would
// point wrong ever after: it gives up after max_chain_guesses guesses in a row.
void ClusterMatch::follow_chain(const std::optional<std::uint64_t>& alt, const ChunkLocation& loc)
{
    if (alt && ++chain_guesses_ <= max_chain_guesses) {
        chain_ = *alt + loc.length;
        return;
    }
    chain_ = loc.offset + loc.length;
    chain_guesses_ = 0;
}

// The same (device, cluster), the clusters named by anchors among its blocks and
// their neighbours (a file copied at another alignment spans two), and the clusters
// at the shift the last anchor showed (the rest of a copied file has no anchor of
// its own).
std::vector<ChunkLocation> ClusterMatch::old_clusters(std::uint64_t key, std::span<const std::uint8_t> bytes,
                                                      bool& anchored, const PlaceWaiting& place)
{
    std::vector<std::uint64_t> keys{key};
    // `from` is the full's disk block where this cluster's first block used to be.
    auto add_mapped = [&](std::uint64_t from) {
        for (const std::uint64_t k : spanned_clusters(from)) {
            if (k != 0 && std::find(keys.begin(), keys.end(), k) == keys.end()) {
                keys.push_back(k);
            }
        }
    };
    for (std::size_t at = 0; at + anchor_block <= bytes.size() && !anchored; at += anchor_block) {
        const auto anchor = anchor_hash(bytes.subspan(at, anchor_block));
        const auto old = anchor ? index_.find_anchor(*anchor) : std::nullopt;
        if (old && (*old & ~block_mask) != key) {
            // Disk block numbers are key | block: one anchor gives the shift of the
            // whole cluster (wrapping for negative shifts, as intended).
            const std::uint64_t shift = *old - at / anchor_block - key;
            add_mapped(key + shift);
            if (shifts_.size() >= max_shifts) {
                shifts_.clear();
            }
            shifts_[key] = shift;
            last_shift_ = shift;
            anchored = true;
            ++stats_.anchor_hits;
            place_neighbours(key, shift, place);
        }
    }
    if (!anchored) {
        // Clusters are reordered, so the disk neighbours' shifts say more than the
        // last one seen.
        for (const std::uint64_t n :
             {key - cluster_step, key + cluster_step, key - 2 * cluster_step, key + 2 * cluster_step}) {
            if (const auto it = shifts_.find(n); it != shifts_.end()) {
                add_mapped(key + it->second);
            }
        }
        if (last_shift_ != 0) {
            add_mapped(key + last_shift_);
        }
    }
    std::vector<ChunkLocation> found;
    for (std::size_t i = 0; i < keys.size() && found.size() < max_old_clusters; ++i) {
        if (const auto loc = index_.find_cluster(keys[i])) {
            found.push_back(*loc);
        }
    }
    return found;
}

void ClusterMatch::wait_for_anchor(std::uint64_t key, std::size_t item)
{
    if (unplaced_.size() >= max_shifts) {
        unplaced_.clear();
    }
    unplaced_[key] = item;
}

// Gives the waiting, unplaced disk neighbours of `key` the old clusters at `shift`.
void ClusterMatch::place_neighbours(std::uint64_t key, std::uint64_t shift, const PlaceWaiting& place)
{
    for (const std::uint64_t n :
         {key - cluster_step, key + cluster_step, key - 2 * cluster_step, key + 2 * cluster_step}) {
        const auto it = unplaced_.find(n);
        if (it == unplaced_.end()) {
            continue;
        }
        for (const std::uint64_t k : spanned_clusters(n + shift)) {
            if (const auto loc = k != 0 ? index_.find_cluster(k) : std::nullopt) {
                place(it->second, *loc);
            }
        }
        unplaced_.erase(it);
    }
}

}  // namespace pvediff::engine::detail
