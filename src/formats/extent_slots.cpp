// SPDX-License-Identifier: GPL-2.0-or-later
#include "extent_slots.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>

#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::formats {

ExtentSlots::ExtentSlots(const VmaHeader& header)
{
    for (const VmaDevice& d : header.devices) {
        device_size_.at(d.id) = d.size;
    }
    infos_.reserve(vma::slots_per_extent);
}

void ExtentSlots::parse(std::span<const std::uint8_t> h, const std::string& name, std::uint64_t offset)
{
    if (h.size() != vma::extent_header_size) {
        io::throw_parse_error(name, offset, "extent header of the wrong size");
    }
    if (std::memcmp(h.data(), vma::extent_magic.data(), vma::extent_magic.size()) != 0) {
        io::throw_parse_error(name, offset, "bad extent magic");
    }
    const std::uint16_t block_count = io::load_be16(h.data() + 6);
    infos_.clear();
    std::size_t masked = 0;
    for (std::size_t i = 0; i < vma::slots_per_extent; ++i) {
        const std::uint64_t info = io::load_be64(h.data() + 40 + i * 8);
        if (info == 0) {
            continue;
        }
        const std::uint64_t size = device_size_[info_dev(info)];
        if (info_dev(info) == 0 || std::uint64_t{info_cluster(info)} * vma::cluster_size >= size) {
            io::throw_parse_error(name, offset + 40 + i * 8,
                                  fmt::format("cluster {} of device {} is not in the header",
                                              info_cluster(info), info_dev(info)));
        }
        masked += static_cast<std::size_t>(std::popcount(info_mask(info)));
        infos_.push_back(info);
    }
    if (masked != block_count) {
        io::throw_parse_error(
            name, offset, fmt::format("block count {} does not match the masks ({})", block_count, masked));
    }
    length_ = vma::extent_header_size + std::size_t{block_count} * vma::block_size;
}

}  // namespace pvediff::formats
