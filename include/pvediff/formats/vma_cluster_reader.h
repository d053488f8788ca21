// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Reads a VMA stream cluster by cluster, in the order its extents list them: the
// header first (parsed and checked by parse_vma_header), then each cluster's 64 KiB
// with the blocks its mask leaves out as zeros. For archives pvediff wrote itself and
// keeps reading in order (the NBD path takes a previous backup's clusters from it);
// checks what it needs to stay in bounds (extent magic, block counts against the
// masks, device ids and cluster numbers), not MD5s: its caller hashes the whole stream.
// Memory: one extent (under 4 MiB).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "pvediff/formats/vma.h"
#include "pvediff/io/byte_stream.h"

namespace pvediff::formats {

class VmaClusterReader {
public:
    // Reads and checks the header. Throws io::Error (parse errors name the stream and offset).
    explicit VmaClusterReader(io::ByteSource& source);

    struct Cluster {
        std::uint8_t dev_id = 0;
        std::uint32_t cluster = 0;
        std::span<const std::uint8_t> data;  // 64 KiB, valid until the next call
        std::uint16_t mask = 0;              // its stored blocks (bit b: block b)
        // Where its stored blocks begin in the stream (they follow each other):
        // what a differential COPYs for an unchanged cluster.
        std::uint64_t stored_offset = 0;
        // Its stored blocks as read, one after the other (valid until the next call).
        std::span<const std::uint8_t> stored;
        // The header of the extent that holds it, as read, and where it begins.
        std::span<const std::uint8_t> extent_header;
        std::uint64_t extent_offset = 0;
        bool first_in_extent = false;  // listed first in its extent
    };
    // The next cluster, or nothing at the end of the stream (at an extent boundary).
    std::optional<Cluster> next();

    [[nodiscard]] const VmaHeader& header() const { return header_; }

private:
    bool read_extent();

    io::ByteSource& source_;
    VmaHeader header_;
    std::uint64_t offset_ = 0;  // of the stream, for messages
    std::vector<std::uint64_t> blockinfo_;
    std::vector<std::uint8_t> blocks_;  // the extent's stored blocks
    std::uint64_t blocks_offset_ = 0;   // of blocks_[0] in the stream
    std::vector<std::uint8_t> extent_header_;
    std::size_t slot_ = 0;   // next blockinfo entry
    std::size_t block_ = 0;  // next stored block
    std::vector<std::uint8_t> cluster_;
};

}  // namespace pvediff::formats
