// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The chunk index of a full: content hash -> where that content sits in the full's
// decompressed stream. Built once by streaming the full, kept beside it as a sidecar,
// loaded again for every differential against it.
//
// Sidecar file grammar (all integers little-endian):
//   file     := header entry{entry_count} cluster{cluster_count} anchor{anchor_count} checksum
//   header   := magic "PVDXCIDX" (8 bytes)
//               version u32 (= 5)  flags u32 (= 0)
//               min_size u32  avg_size u32  max_size u32  boundary_ratio u32
//               content_size u64      bytes of the full's decompressed stream
//               chunk_count u64       chunks the full was cut into
//               entry_count u64       distinct contents (<= chunk_count)
//               cluster_count u64     VMA clusters (0 for other formats)
//               anchor_count u64      sampled VMA blocks (0 for other formats)
//               content_sha256[32]    SHA-256 of the full's decompressed stream, all
//                                     zeros when the writer did not know it
//               content_xxh128[16]    XXH3-128 of the same bytes (canonical, big-endian),
//                                     taken by the build itself; all zeros when unknown
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
// Each of the three tables is sorted by its first field, strictly ascending (so no key
// twice): a lookup is a binary search in the file, not a table in memory. Version 4
// (no content_xxh128), version 3 (no content hashes either) and version 2 (no content
// hashes, tables in hash-table order) are still read; version 2's records are sorted
// into a scratch file on load, as a build does. The SHA-256 ties the index to its
// full's content: a caller compares it with the full's manifest before it uses the
// index (commands/pipeline.cpp), so an index left from another full of the same size
// is set aside instead of making every differential against this full fail its proof.
// The XXH3-128, taken on the same pass, lets a later read of the full show that it is
// still that content at a tenth of SHA-256's CPU (the encoder's read in `backup`).
// The loader requires the exact file size, checks every field, the order, the anchors'
// clusters and the checksum, and names the file and the offset of what is wrong; a hit
// is checked again when looked up (the file could have changed since).
//
// Size: 16 bytes per distinct chunk, per VMA cluster and per anchor, on disk. In
// memory: a directory of the first key of every 4 KiB page of each table (1/512 of
// the file, ~1.5 MiB at 1 TiB) and 64 cached pages per table (768 KiB); nothing else
// grows with the guest. Building (a full kept, or a diff without a stored index) sorts
// the records in runs of 4 MiB on an unnamed scratch file and merges them (the first
// location of a key wins): at most ~20 MiB of memory at any size (12 MiB measured for
// 1 TiB), up to ~3 x the sidecar's size on scratch disk while it runs.
// The cluster table lets the encoder find the previous version of a changed VMA
// cluster by position (device, cluster number), to match it byte by byte. The anchor
// table finds where else a changed cluster's blocks were: files copied or moved inside
// the guest land in other clusters at other alignments, so whole clusters do not
// match, but their 4 KiB blocks do. Sampling one block in 32 keeps it at 16 bytes per
// 128 KiB; one hit names an old cluster, and its neighbours follow by position.
// Altogether: 48 bytes per 64 KiB cluster on disk for VMA, 62.5 MiB per 100 GiB.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "pvediff/engine/chunk_chunker.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"
#include "pvediff/io/xxh128.h"

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

// What building an index may hold in memory (the default: ~20 MiB at any size).
// Tests make it tiny, to run the many-runs path on small inputs.
struct IndexBuildBudget {
    std::size_t run_records = std::size_t{1} << 18;   // records sorted in memory at once
    std::size_t fan_in = 64;                          // runs merged at once
    std::size_t read_records = std::size_t{1} << 12;  // records read ahead per run merged
};

// A finished index, read-only: built (ChunkIndexBuilder) or loaded from its sidecar.
// Copies share the same tables; lookups may be made from several threads.
class ChunkIndex {
public:
    // An empty index: finds nothing.
    explicit ChunkIndex(ChunkParams params = {});

    [[nodiscard]] std::optional<ChunkLocation> find(std::uint64_t hash) const;
    // Where the full stores the blocks of a VMA cluster (Chunk::cluster_key).
    [[nodiscard]] std::optional<ChunkLocation> find_cluster(std::uint64_t cluster_key) const;
    // Where the full held a block with this anchor_hash(): its cluster's key | the
    // block's number in that cluster (so, the disk block number within the device).
    [[nodiscard]] std::optional<std::uint64_t> find_anchor(std::uint64_t anchor) const;

    [[nodiscard]] const ChunkParams& params() const { return params_; }
    [[nodiscard]] std::uint64_t content_size() const { return content_size_; }
    void set_content_size(std::uint64_t size) { content_size_ = size; }
    // The SHA-256 of the content indexed, if known (saved since version 4).
    [[nodiscard]] const std::optional<io::Digest>& content_sha256() const { return content_sha256_; }
    void set_content_sha256(const io::Digest& sha256) { content_sha256_ = sha256; }
    // The XXH3-128 of the same content, if known (taken by build_chunk_index; saved
    // since version 5).
    [[nodiscard]] const std::optional<io::Xxh128Digest>& content_xxh128() const { return content_xxh128_; }
    void set_content_xxh128(const io::Xxh128Digest& xxh128) { content_xxh128_ = xxh128; }
    [[nodiscard]] std::uint64_t chunk_count() const { return chunk_count_; }
    [[nodiscard]] std::uint64_t entry_count() const { return entries_; }
    [[nodiscard]] std::uint64_t cluster_count() const { return clusters_; }
    [[nodiscard]] std::uint64_t anchor_count() const { return anchors_; }
    // Heap held for lookups: the tables' directories and page caches.
    [[nodiscard]] std::uint64_t memory_bytes() const;
    [[nodiscard]] std::uint64_t file_bytes() const;

    void save(io::ByteSink& out) const;
    // Written under a temporary name, flushed and renamed into place (io::AtomicFile).
    // `mode`: the permissions of the file (those of the full it indexes).
    void save(const std::filesystem::path& path, const io::FileMode& mode = {}) const;
    // Throws io::Error naming the file and offset on any inconsistency. A version 2
    // file is sorted on a scratch file in `scratch_dir` (empty: beside it).
    static ChunkIndex load(const std::filesystem::path& path, const std::filesystem::path& scratch_dir = {});

    struct Storage;  // the file the tables are in (chunk_index.cpp)

private:
    friend class ChunkIndexBuilder;

    ChunkParams params_;
    std::uint64_t content_size_ = 0;
    std::optional<io::Digest> content_sha256_;
    std::optional<io::Xxh128Digest> content_xxh128_;
    std::uint64_t chunk_count_ = 0;
    std::uint64_t entries_ = 0;
    std::uint64_t clusters_ = 0;
    std::uint64_t anchors_ = 0;
    std::shared_ptr<const Storage> storage_;
};

// Collects the records of a full's chunks in stream order and sorts them on scratch
// disk (an unnamed file in `scratch_dir`), in memory bounded by `budget`.
class ChunkIndexBuilder {
public:
    ChunkIndexBuilder(ChunkParams params, const std::filesystem::path& scratch_dir,
                      IndexBuildBudget budget = {});
    ~ChunkIndexBuilder();
    ChunkIndexBuilder(const ChunkIndexBuilder&) = delete;
    ChunkIndexBuilder& operator=(const ChunkIndexBuilder&) = delete;

    // Records a chunk of the full, in stream order; the first location of a content
    // wins. `bytes` are the chunk's (for the anchors of VMA clusters).
    void add(const Chunk& chunk, std::span<const std::uint8_t> bytes);
    // Sorts, keeps the first location of every key and hands the tables over.
    ChunkIndex finish(std::uint64_t content_size);

    struct Sorters;  // chunk_index.cpp

private:
    ChunkParams params_;
    std::filesystem::path scratch_dir_;
    std::uint64_t chunk_count_ = 0;
    std::unique_ptr<Sorters> sorters_;
};

// Streams the full once and indexes it. Returns the index with its content size set.
// Scratch files go to `scratch_dir` (the system's temporary directory when empty).
ChunkIndex build_chunk_index(io::ByteSource& full, const ChunkParams& params, const LayoutFactory& layout,
                             const std::filesystem::path& scratch_dir = {}, IndexBuildBudget budget = {});

}  // namespace pvediff::engine
