// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The chunk index of a full: content hash -> where that content sits in the full's
// decompressed stream. Built once by streaming the full, kept beside it as a sidecar,
// loaded again for every differential against it.
//
// Sidecar file grammar (all integers little-endian):
//   file     := header entry{entry_count} cluster{cluster_count} checksum
//   header   := magic "PVDXCIDX" (8 bytes)
//               version u32 (= 2)  flags u32 (= 0)
//               min_size u32  avg_size u32  max_size u32  boundary_ratio u32
//               content_size u64      bytes of the full's decompressed stream
//               chunk_count u64       chunks the full was cut into
//               entry_count u64       distinct contents (<= chunk_count)
//               cluster_count u64     VMA clusters (0 for other formats)
//               anchor_count u64      sampled VMA blocks (0 for other formats)
//   entry    := hash u64 (XXH3-64 of the chunk, never 0)
//               location u64 (offset << 24 | length; 0 < length <= max_size,
//                             offset + length <= content_size)
//   cluster  := key u64 ((dev << 48) | (cluster << 4), never 0)
//               location u64 (as above): where the cluster's stored blocks are
//   anchor   := hash u64 (XXH3-64 of a stored 4 KiB block, one in 32 by its top bits)
//               block u64 (the key of the cluster holding it, one of the cluster
//                          table's keys, | the block's number in the cluster, 0..15:
//                          its disk block number within the device)
//   checksum := u64, XXH3-64 of every byte before it
// The loader requires the exact file size before it allocates, checks every field
// and the checksum, and names the file and the offset of what is wrong.
//
// Size: 16 bytes per distinct chunk and per VMA cluster on disk; in memory the
// open-addressing tables take 16 bytes per slot at a load factor between 3/8 and 3/4.
// The cluster table lets the encoder find the previous version of a changed VMA
// cluster by position (device, cluster number), to match it byte by byte. The anchor
// table finds where else a changed cluster's blocks were: files copied or moved inside
// the guest land in other clusters at other alignments, so whole clusters do not
// match, but their 4 KiB blocks do. Sampling one block in 32 keeps it at 16 bytes per
// 128 KiB; one hit names an old cluster, and its neighbours follow by position.
// Altogether: 48 bytes per 64 KiB cluster on disk for VMA, 62.5 MiB per 100 GiB.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "pvediff/engine/chunk_chunker.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/byte_stream.h"

namespace pvediff::engine {

// The store names the sidecar (store::index_suffix); the engine only reads and writes it.

// The sampled-block hash of a 4 KiB block (anchor_block bytes), or nothing when the
// block is not one of the one in 32 that are indexed.
inline constexpr std::size_t anchor_block = 4096;
std::optional<std::uint64_t> anchor_hash(std::span<const std::uint8_t> block);

struct ChunkLocation {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
};

class ChunkIndex {
public:
    explicit ChunkIndex(ChunkParams params = {});

    // Records a chunk of the full, in stream order; the first location of a content
    // wins. `bytes` are the chunk's (for the anchors of VMA clusters).
    void add(const Chunk& chunk, std::span<const std::uint8_t> bytes);
    [[nodiscard]] std::optional<ChunkLocation> find(std::uint64_t hash) const;
    // Where the full stores the blocks of a VMA cluster (Chunk::cluster_key).
    [[nodiscard]] std::optional<ChunkLocation> find_cluster(std::uint64_t cluster_key) const;
    // Where the full held a block with this anchor_hash(): its cluster's key | the
    // block's number in that cluster (so, the disk block number within the device).
    [[nodiscard]] std::optional<std::uint64_t> find_anchor(std::uint64_t anchor) const;

    [[nodiscard]] const ChunkParams& params() const { return params_; }
    [[nodiscard]] std::uint64_t content_size() const { return content_size_; }
    void set_content_size(std::uint64_t size) { content_size_ = size; }
    [[nodiscard]] std::uint64_t chunk_count() const { return chunk_count_; }
    [[nodiscard]] std::uint64_t entry_count() const { return entries_; }
    [[nodiscard]] std::uint64_t cluster_count() const { return clusters_; }
    [[nodiscard]] std::uint64_t anchor_count() const { return anchors_; }
    [[nodiscard]] std::uint64_t memory_bytes() const
    {
        return (slots_.size() + cluster_slots_.size() + anchor_slots_.size()) * sizeof(Slot);
    }
    [[nodiscard]] std::uint64_t file_bytes() const;

    void save(io::ByteSink& out) const;
    // Written under a temporary name, flushed and renamed into place (io::AtomicFile).
    // `mode`: the permissions of the file (those of the full it indexes).
    void save(const std::filesystem::path& path, const io::FileMode& mode = {}) const;
    // Throws io::Error naming the file and offset on any inconsistency.
    static ChunkIndex load(const std::filesystem::path& path);

private:
    struct Slot {
        std::uint64_t hash = 0;      // 0 = empty
        std::uint64_t location = 0;  // offset << 24 | length
    };
    // Returns false if the key was there already (the first location wins).
    static bool insert(std::vector<Slot>& table, std::uint64_t key, std::uint64_t location);
    static std::optional<ChunkLocation> lookup(const std::vector<Slot>& table, std::uint64_t key);
    static void reserve(std::vector<Slot>& table, std::uint64_t count);

    ChunkParams params_;
    std::uint64_t content_size_ = 0;
    std::uint64_t chunk_count_ = 0;
    std::uint64_t entries_ = 0;
    std::uint64_t clusters_ = 0;
    std::uint64_t anchors_ = 0;
    std::vector<Slot> slots_;
    std::vector<Slot> cluster_slots_;
    std::vector<Slot> anchor_slots_;  // location field = cluster key
};

// Streams the full once and indexes it. Returns the index with its content size set.
ChunkIndex build_chunk_index(io::ByteSource& full, const ChunkParams& params, const LayoutFactory& layout);

}  // namespace pvediff::engine
