// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The layout of an archive's decompressed byte stream, learnt while it streams past:
// which bytes are format metadata (VMA header and extent headers, tar headers and
// padding) and which are payload (VMA 4 KiB blocks, tar member contents). The delta
// engine places chunk boundaries on it, so that reordered VMA clusters and shifted
// tar members still match (docs/engine.md; for VMA, docs/vma-format.md).
//
// Parsers here are lenient on purpose: on anything they do not understand they stop
// interpreting and report the rest of the stream as opaque payload (kind payload,
// key 0). They never throw. Strict checking is the verifiers' job (vma_verify.h,
// tar_verify.h).
//
// Regions of one stream:
// - VMA: the header (metadata, header_size bytes); per extent its 512-byte header
//   (metadata) and each stored 4 KiB block (block, key below).
// - tar: each 512-byte header record (metadata); GNU long names ('L', 'K'), pax
//   headers ('x', 'g') and their padding (metadata); member data (payload, exactly the
//   member's stored size, key = member ordinal, 1-based); padding to 512 (metadata);
//   each zero record of the end-of-archive marker and trailing padding (metadata).
// - unknown: everything is payload, key 0.
//
// Bounded buffering: no Region is longer than max_region_length. A longer logical
// unit (a 50 GB tar member, the opaque rest, a huge VMA header) is reported as
// consecutive pieces of exactly max_region_length bytes (counted from the unit's
// start) and a last shorter-or-equal piece; every piece but the last has
// continues = true, and all carry the same kind and key. So a caller that keeps the
// bytes not yet covered by a reported region never holds more than
// max_region_length + 512 bytes of them, and the regions reported do not depend on
// how the stream was cut into feed() calls.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace pvediff::formats {

inline constexpr std::uint64_t max_region_length = std::uint64_t{4} << 20;

enum class RegionKind : std::uint8_t {
    metadata,  // headers, padding: expected to differ between runs
    block,     // a fixed-size payload unit (a VMA 4 KiB block): one chunk as it is
    payload,   // variable payload (tar member data, opaque rest): chunk by content
};

struct Region {
    std::uint64_t offset = 0;  // in the decompressed stream
    std::uint64_t length = 0;  // never 0, never more than max_region_length
    // For VMA blocks: (dev_id << 48) | (cluster << 4) | block_in_cluster, so the same
    // logical block of the next backup can be found again. For tar member data: the
    // member's ordinal (1-based). 0 otherwise.
    std::uint64_t key = 0;
    RegionKind kind = RegionKind::payload;
    // True when the next region is the continuation of the same unit (see above).
    bool continues = false;

    friend bool operator==(const Region&, const Region&) = default;
};

inline constexpr std::uint64_t vma_block_key(std::uint8_t dev_id, std::uint32_t cluster,
                                             unsigned block_in_cluster)
{
    return (std::uint64_t{dev_id} << 48) | (std::uint64_t{cluster} << 4) | (block_in_cluster & 15U);
}

enum class ArchiveFormat { vma, tar, unknown };
// Recognises a format from the first bytes of the decompressed stream (VMA needs 4,
// tar needs 512: the ustar magic at 257, or a valid header checksum). Give it as many
// bytes as are available (up to 512); fewer than needed give unknown.
ArchiveFormat detect_format(std::span<const std::uint8_t> head);

// Incremental parser: feed the stream in order, in pieces of any size; regions are
// appended to `out` (never cleared) as soon as they are complete. Regions are
// contiguous and cover every byte exactly once, in stream order.
class LayoutParser {
public:
    virtual ~LayoutParser() = default;
    virtual void feed(std::span<const std::uint8_t> data, std::vector<Region>& out) = 0;
    // End of stream: appends the regions for bytes not yet reported: the rest of a
    // truncated unit keeps its kind and key (metadata stays metadata, member data
    // stays payload), except that a partial VMA block, or a partial header the parser
    // was still collecting, becomes payload with key 0. No feed() may follow.
    virtual void finish(std::vector<Region>& out) = 0;
    // Bytes fed so far.
    [[nodiscard]] virtual std::uint64_t offset() const = 0;
    // True once the parser gave up interpreting (the rest is opaque payload).
    [[nodiscard]] virtual bool opaque() const = 0;
};

std::unique_ptr<LayoutParser> make_layout_parser(ArchiveFormat format);

}  // namespace pvediff::formats
