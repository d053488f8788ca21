// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Cuts a decompressed archive stream into chunks whose boundaries depend on content
// and on the archive's format, never on where the stream happens to be cut into
// reads: the same bytes give the same chunks in the full and in the new archive,
// wherever they sit.
//
// Rules (all deterministic):
// - Inside the stream: gear-hash content-defined chunking (min/avg/max), the cut
//   condition on the top bits of the hash, so it depends on the last 64 bytes.
// - At the start of a region unit (formats::LayoutParser): a cut if the chunk has
//   min_size bytes and a hash of the unit's first bytes says so (one boundary in
//   boundary_ratio), so small tar members group into chunks that resynchronise
//   after an insertion.
// - VMA blocks: the stored blocks of one cluster (<= 64 KiB) are one chunk: a forced
//   cut whenever the (device, cluster) changes and no content-defined cut inside, so
//   reordered clusters still match and the index has one entry per cluster. A chunk
//   of blocks carries its cluster's key, for positional lookups of changed clusters.
// Memory: the open chunk (<= max_size) plus the bytes the layout parser has not yet
// reported (<= formats::max_region_length + 512) plus one fed piece.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "pvediff/formats/layout.h"

namespace pvediff::engine {

struct ChunkParams {
    std::uint32_t min_size = 9 << 10;
    std::uint32_t avg_size = 32 << 10;
    std::uint32_t max_size = 128 << 10;
    std::uint32_t boundary_ratio = 4;  // a unit start cuts with probability 1/boundary_ratio
    friend bool operator==(const ChunkParams&, const ChunkParams&) = default;
};
// Throws io::Error unless 64 <= min < avg < max <= 16 MiB and boundary_ratio is a
// power of two.
void check_chunk_params(const ChunkParams& params);

struct Chunk {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::uint64_t hash = 0;         // XXH3-64 of the chunk's bytes
    std::uint64_t cluster_key = 0;  // VMA: (dev << 48) | (cluster << 4) of its blocks; else 0
};

// Chosen from the first bytes of the stream (up to 4 KiB, fewer if the stream is
// shorter); returns null for generic chunking.
using LayoutFactory =
    std::function<std::unique_ptr<formats::LayoutParser>(std::span<const std::uint8_t> head)>;
// detect_format + make_layout_parser; null for unknown formats.
LayoutFactory format_layout_factory();

// Receives each chunk with its bytes (valid during the call only).
using ChunkCallback = std::function<void(const Chunk&, std::span<const std::uint8_t>)>;

class Chunker {
public:
    Chunker(ChunkParams params, LayoutFactory layout, ChunkCallback on_chunk);
    ~Chunker();
    Chunker(const Chunker&) = delete;
    Chunker& operator=(const Chunker&) = delete;

    void feed(std::span<const std::uint8_t> data);
    // End of stream: emits the last chunk. No feed() may follow.
    void finish();
    [[nodiscard]] std::uint64_t bytes() const { return fed_; }

private:
    void start(bool at_end);
    void take_regions();
    void process(std::uint64_t end);  // chunk pending bytes up to stream offset `end`
    void begin_unit(const formats::Region& region);
    void cut(std::size_t length);

    ChunkParams params_;
    LayoutFactory layout_factory_;
    ChunkCallback on_chunk_;
    std::unique_ptr<formats::LayoutParser> parser_;
    bool started_ = false;
    bool generic_ = false;
    int mask_bits_ = 0;

    // buf_ holds the stream from chunk_start_ to fed_; bytes before proc_ are part
    // of the open chunk, the rest waits for its region.
    std::vector<std::uint8_t> buf_;
    std::size_t head_ = 0;  // buf_[head_] is the byte at chunk_start_
    std::uint64_t chunk_start_ = 0;
    std::uint64_t proc_ = 0;  // stream offset processed so far
    std::uint64_t fed_ = 0;
    std::uint64_t gear_ = 0;

    std::vector<formats::Region> regions_;
    std::size_t next_region_ = 0;
    bool prev_continues_ = false;
    std::uint64_t prev_cluster_ = 0;    // cluster identity of the last region (0 = none)
    std::uint64_t region_cluster_ = 0;  // cluster key of the region being chunked
    std::uint64_t chunk_cluster_ = 0;
};

}  // namespace pvediff::engine
