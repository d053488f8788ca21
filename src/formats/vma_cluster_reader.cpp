// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/vma_cluster_reader.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::formats {

VmaClusterReader::VmaClusterReader(io::ByteSource& source) : source_(source), cluster_(vma::cluster_size)
{
    std::vector<std::uint8_t> header(vma::header_prefix_size);
    if (io::read_full(source_, header) != header.size()) {
        io::throw_parse_error(source_.name(), 0, "stream ends inside the vma header");
    }
    const std::uint32_t size = vma_header_size(header, source_.name());
    header.resize(size);
    const std::size_t rest = size - vma::header_prefix_size;
    if (io::read_full(source_, std::span(header).subspan(vma::header_prefix_size, rest)) != rest) {
        io::throw_parse_error(source_.name(), 0, "stream ends inside the vma header");
    }
    header_ = parse_vma_header(header, source_.name());
    offset_ = size;
}

bool VmaClusterReader::read_extent()
{
    std::array<std::uint8_t, vma::extent_header_size> h{};
    const std::size_t got = io::read_full(source_, h);
    if (got == 0) {
        return false;
    }
    if (got != h.size()) {
        io::throw_parse_error(source_.name(), offset_, "stream ends inside an extent header");
    }
    if (std::memcmp(h.data(), vma::extent_magic.data(), 4) != 0) {
        io::throw_parse_error(source_.name(), offset_, "bad extent magic");
    }
    const std::uint16_t block_count = io::load_be16(h.data() + 6);
    blockinfo_.clear();
    std::size_t masked = 0;
    for (std::size_t i = 0; i < vma::slots_per_extent; ++i) {
        const std::uint64_t info = io::load_be64(h.data() + 40 + i * 8);
        if (info == 0) {
            continue;
        }
        const auto dev = static_cast<std::uint8_t>(info >> 32);
        const auto cluster = static_cast<std::uint32_t>(info);
        const bool known =
            std::any_of(header_.devices.begin(), header_.devices.end(), [&](const VmaDevice& d) {
                return d.id == dev && std::uint64_t{cluster} * vma::cluster_size < d.size;
            });
        if (!known) {
            io::throw_parse_error(source_.name(), offset_ + 40 + i * 8,
                                  fmt::format("cluster {} of device {} is not in the header", cluster, dev));
        }
        masked += static_cast<std::size_t>(std::popcount(static_cast<std::uint16_t>(info >> 48)));
        blockinfo_.push_back(info);
    }
    if (masked != block_count) {
        io::throw_parse_error(
            source_.name(), offset_,
            fmt::format("block count {} does not match the masks ({})", block_count, masked));
    }
    extent_header_.assign(h.begin(), h.end());
    offset_ += h.size();
    blocks_offset_ = offset_;
    blocks_.resize(std::size_t{block_count} * vma::block_size);
    if (io::read_full(source_, blocks_) != blocks_.size()) {
        io::throw_parse_error(source_.name(), offset_, "stream ends inside an extent's blocks");
    }
    offset_ += blocks_.size();
    slot_ = 0;
    block_ = 0;
    return true;
}

std::optional<VmaClusterReader::Cluster> VmaClusterReader::next()
{
    while (slot_ >= blockinfo_.size()) {
        if (!read_extent()) {
            return std::nullopt;
        }
    }
    const std::uint64_t info = blockinfo_[slot_++];
    const auto mask = static_cast<std::uint16_t>(info >> 48);
    const std::size_t first_block = block_;
    for (unsigned b = 0; b < vma::blocks_per_cluster; ++b) {
        std::uint8_t* to = cluster_.data() + b * vma::block_size;
        if ((mask & (1U << b)) != 0) {
            std::memcpy(to, blocks_.data() + block_ * vma::block_size, vma::block_size);
            ++block_;
        } else {
            std::memset(to, 0, vma::block_size);
        }
    }
    const std::span<const std::uint8_t> stored(blocks_.data() + first_block * vma::block_size,
                                               (block_ - first_block) * vma::block_size);
    return Cluster{static_cast<std::uint8_t>(info >> 32),
                   static_cast<std::uint32_t>(info),
                   cluster_,
                   mask,
                   blocks_offset_ + first_block * vma::block_size,
                   stored,
                   extent_header_,
                   blocks_offset_ - vma::extent_header_size,
                   slot_ == 1};
}

}  // namespace pvediff::formats
