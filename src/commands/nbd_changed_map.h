// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The clusters of each disk that changed since the backup's full, kept beside every
// backup `backup --nbd` writes ("<backup>.pvediff-nbd-changed"; docs/nbd.md, "The
// plan path"): empty for a full, the clusters its differential did not COPY whole
// from the full for a differential written from a cluster plan. The next run learns
// from it which clusters may need more than a COPY of the full.
//
// File grammar (integers little-endian):
//   file    := magic "PVDXNBDM" (8 bytes)  version u32 (= 1)  device_count u32
//              size u64{device_count}          each device's size in bytes
//              bits{device_count}              ceil(clusters / 8) bytes per device,
//                                              bit c % 8 of byte c / 8: cluster c changed
//              sha256 (32 bytes)               of every byte before it
// The loader is given the devices' sizes (from the manifest) and requires the exact
// file size before it reads, unused bits zero and the checksum: a damaged or foreign
// file is refused with the offset of what is wrong. Size: one bit per 64 KiB cluster
// (2 MiB per TiB of disk).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "pvediff/io/atomic_file.h"

namespace pvediff::commands::detail {

class ChangedMap {
public:
    explicit ChangedMap(std::vector<std::uint64_t> device_sizes);

    // `device`: 0-based (the VMA's dev_id - 1).
    void set(std::size_t device, std::uint64_t cluster);
    [[nodiscard]] bool test(std::size_t device, std::uint64_t cluster) const;
    [[nodiscard]] std::uint64_t count() const;
    [[nodiscard]] const std::vector<std::uint64_t>& device_sizes() const { return sizes_; }

    // Written under a temporary name, flushed and renamed into place.
    void save(const std::filesystem::path& path, const io::FileMode& mode) const;
    // Throws io::Error naming the file (and the offset, for what is wrong inside it).
    static ChangedMap load(const std::filesystem::path& path, const std::vector<std::uint64_t>& device_sizes);

private:
    std::vector<std::uint64_t> sizes_;
    std::vector<std::uint64_t> first_byte_;  // of each device's bits in bits_
    std::vector<std::uint8_t> bits_;
};

// The sidecar of `backup` (store::nbd_changed_suffix).
std::filesystem::path changed_map_path(const std::filesystem::path& backup);

}  // namespace pvediff::commands::detail
