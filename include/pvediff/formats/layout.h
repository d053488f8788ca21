// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The layout of an archive's decompressed byte stream, learnt while it streams past:
// which bytes are format metadata (VMA header and extent headers, tar headers and
// padding) and which are payload (VMA 4 KiB blocks, tar member contents). The delta
// engine places chunk boundaries on it, so that reordered VMA clusters and shifted
// tar members still match (DESIGN.md, "The delta engine").
//
// Parsers here are lenient on purpose: on anything they do not understand they stop
// interpreting and report the rest of the stream as one opaque payload region. Strict
// checking is the verifiers' job (vma_verify.h, tar_verify.h).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace pvediff::formats {

enum class RegionKind : std::uint8_t {
    metadata,  // headers, padding: expected to differ between runs
    block,     // a fixed-size payload unit (a VMA 4 KiB block): one chunk as it is
    payload,   // variable payload (tar member data, opaque rest): chunk by content
};

struct Region {
    std::uint64_t offset = 0;  // in the decompressed stream
    std::uint64_t length = 0;
    RegionKind kind = RegionKind::payload;
    // For VMA blocks: (dev_id << 48) | (cluster << 4) | block_in_cluster, so the same
    // logical block of the next backup can be found again; 0 otherwise.
    std::uint64_t key = 0;
};

enum class ArchiveFormat { vma, tar, unknown };
// Recognises a format from the first bytes of the decompressed stream (VMA needs 4,
// tar needs 512: the ustar magic at 257, or a valid header checksum).
ArchiveFormat detect_format(std::span<const std::uint8_t> head);

// Incremental parser: feed the stream in order, in pieces of any size; regions are
// appended as soon as they are complete. Regions are contiguous and cover every byte
// exactly once, in stream order.
class LayoutParser {
public:
    virtual ~LayoutParser() = default;
    virtual void feed(std::span<const std::uint8_t> data, std::vector<Region>& out) = 0;
    // End of stream: appends the last (possibly partial) region.
    virtual void finish(std::vector<Region>& out) = 0;
};

std::unique_ptr<LayoutParser> make_layout_parser(ArchiveFormat format);

}  // namespace pvediff::formats
