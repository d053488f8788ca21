// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Writes a valid VMA stream (as Proxmox's writer does) from synthetic data, for tests,
// benchmarks and `pvediff demo`. The header goes out on construction; clusters are
// added in any order the caller likes and are grouped into extents of at most 58
// clusters; all-zero 4 KiB blocks are left out through the mask. At most one extent
// (under 4 MiB) is buffered.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pvediff/formats/vma.h"
#include "pvediff/io/byte_stream.h"

namespace pvediff::formats {

class VmaWriter {
public:
    struct Device {
        std::string name;    // e.g. "drive-scsi0"
        std::uint64_t size;  // bytes, > 0
    };
    struct Config {
        std::string name;  // e.g. "qemu-server.conf"
        std::string data;  // at most 65535 bytes
    };

    // Devices get dev_id 1, 2, ... in the order given (at most 255). Throws io::Error
    // for invalid arguments (empty or over-long names or blobs, zero sizes).
    VmaWriter(io::ByteSink& out, const Uuid& uuid, std::int64_t ctime, const std::vector<Config>& configs,
              const std::vector<Device>& devices);
    VmaWriter(const VmaWriter&) = delete;
    VmaWriter& operator=(const VmaWriter&) = delete;

    // One cluster of device `dev_id` (1-based, as above): `data` is its content from
    // offset cluster * 64 KiB, at most 64 KiB and not past the device end; bytes not
    // given are zeros. Each cluster of each device should be added exactly once (not
    // checked: duplicates are written as given). Throws io::Error for an unknown
    // dev_id, a cluster past the device end, or too much data.
    void add_cluster(std::uint8_t dev_id, std::uint32_t cluster, std::span<const std::uint8_t> data);
    // Writes the buffered extent. Does not finish the sink; no add_cluster() may follow.
    void finish();

    [[nodiscard]] std::uint32_t header_size() const { return header_size_; }
    [[nodiscard]] std::uint64_t extents_written() const { return extents_; }
    [[nodiscard]] std::uint64_t bytes_written() const { return bytes_; }

private:
    void flush_extent();

    io::ByteSink& out_;
    Uuid uuid_;
    std::vector<std::uint64_t> device_sizes_;  // index dev_id - 1
    std::uint32_t header_size_ = 0;
    std::vector<std::uint64_t> blockinfo_;  // of the buffered extent
    std::vector<std::uint8_t> data_;        // its stored blocks
    std::uint64_t extents_ = 0;
    std::uint64_t bytes_ = 0;
    bool finished_ = false;
};

// The pieces of VmaWriter, shared with writers that assemble a VMA from other sources
// (the NBD plan path's records route writes extents without holding every cluster),
// so that both produce the same bytes.

// The VMA header VmaWriter writes (same checks and errors).
std::vector<std::uint8_t> vma_header_bytes(const Uuid& uuid, std::int64_t ctime,
                                           const std::vector<VmaWriter::Config>& configs,
                                           const std::vector<VmaWriter::Device>& devices);
// The zero-block scan of one cluster's content (at most 64 KiB; bytes not given are
// zeros): appends its stored blocks to `stored` and returns its mask.
std::uint16_t vma_cluster_blocks(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& stored);
// An extent header for `blockinfos` (at most slots_per_extent) holding `block_count`
// stored blocks, with its MD5.
std::array<std::uint8_t, vma::extent_header_size> vma_extent_header(const Uuid& uuid,
                                                                    std::span<const std::uint64_t> blockinfos,
                                                                    std::uint16_t block_count);

}  // namespace pvediff::formats
