// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The VMA archive format (vzdump's format for QEMU VMs); described in docs/vma-format.md.
//
//   vma      := header extent*                          (ends with EOF at an extent boundary)
//   header   := "VMA\0" u32be version=1, uuid[16], u64be ctime, md5[16],
//               u32be blob_buffer_offset, u32be blob_buffer_size, u32be header_size,
//               reserved[1984], u32be config_names[256], u32be config_data[256],
//               reserved[4], dev_info[256] (u32be name_ptr, u32be reserved, u64be size,
//               reserved[16]), blob buffer ... up to header_size
//   blob     := u16le length, bytes                    (pointers relative to the buffer)
//   extent   := "VMAE" u16be reserved, u16be block_count, uuid[16], md5[16],
//               u64be blockinfo[59], block_count * 4096 bytes
//   blockinfo:= mask:16 | reserved:8 | dev_id:8 | cluster:32
// md5 fields: MD5 of the header (header_size bytes) or extent header (512 bytes) with
// the md5 field zeroed.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pvediff::formats {

namespace vma {
inline constexpr std::array<std::uint8_t, 4> header_magic{'V', 'M', 'A', 0};
inline constexpr std::array<std::uint8_t, 4> extent_magic{'V', 'M', 'A', 'E'};
inline constexpr std::size_t header_prefix_size = 60;  // enough to read header_size
inline constexpr std::uint32_t blob_buffer_start = 12288;
// The largest header a reader accepts: 512 blobs of up to 64 KiB plus device names
// fit well below it; anything larger is corrupt, and would only cost memory.
inline constexpr std::uint32_t max_header_size = 64U << 20;
inline constexpr std::size_t extent_header_size = 512;
inline constexpr std::size_t slots_per_extent = 59;  // Proxmox's writer uses 58
inline constexpr std::size_t writer_clusters_per_extent = 58;
inline constexpr std::size_t block_size = 4096;
inline constexpr std::size_t cluster_size = 65536;
inline constexpr std::size_t blocks_per_cluster = 16;
inline constexpr std::size_t max_devices = 255;  // dev_id 1..255
inline constexpr std::size_t max_configs = 256;
}  // namespace vma

using Uuid = std::array<std::uint8_t, 16>;
using Md5 = std::array<std::uint8_t, 16>;

struct VmaDevice {
    std::uint8_t id = 0;     // 1..255
    std::string name;        // without the trailing NUL
    std::uint64_t size = 0;  // bytes
};

struct VmaConfig {
    std::string name;  // e.g. "qemu-server.conf"
    std::string data;
};

struct VmaHeader {
    Uuid uuid{};
    std::int64_t ctime = 0;  // seconds since the epoch
    Md5 md5{};
    std::uint32_t version = 0;
    std::uint32_t blob_buffer_offset = 0;
    std::uint32_t blob_buffer_size = 0;
    std::uint32_t header_size = 0;
    std::vector<VmaDevice> devices;  // ascending id
    std::vector<VmaConfig> configs;  // in slot order
};

// header_size from the first vma::header_prefix_size bytes, after checking magic,
// version and that header_size lies in [12288, vma::max_header_size]. Throws
// io::Error (parse error naming `name` and the offset).
std::uint32_t vma_header_size(std::span<const std::uint8_t> prefix, const std::string& name);
// Parses and checks a whole header (exactly header_size bytes): magic, version, sizes,
// MD5, blob pointers and lengths, device names. Devices are the dev_info entries with
// a non-zero size and a name pointer; configs the slots with both pointers set.
VmaHeader parse_vma_header(std::span<const std::uint8_t> header, const std::string& name);

// MD5 of a header / extent header with its md5 field (bytes 32..48 / 24..40) zeroed.
Md5 vma_header_md5(std::span<const std::uint8_t> header);
Md5 vma_extent_md5(std::span<const std::uint8_t> extent_header);

// "04fc12eb-0fed-4322-9aaa-f4e412f68096"
std::string format_uuid(const Uuid& uuid);
// "2021-10-31 11:43:42 UTC"
std::string format_utc(std::int64_t seconds);

}  // namespace pvediff::formats
