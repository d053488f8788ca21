// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/vma_writer.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::formats {
namespace {

bool all_zero(std::span<const std::uint8_t> block)
{
    // Word-wise: this runs over every block of a synthetic disk.
    std::uint64_t acc = 0;
    std::size_t i = 0;
    for (; i + 8 <= block.size(); i += 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, block.data() + i, 8);
        acc |= w;
    }
    for (; i < block.size(); ++i) {
        acc |= block[i];
    }
    return acc == 0;
}

// The blob buffer: byte 0 is padding (pointer 0 means "none"); then u16le-prefixed blobs.
class Blobs {
public:
    std::uint32_t add(std::string_view bytes, bool nul)
    {
        const std::size_t len = bytes.size() + (nul ? 1 : 0);
        if (len > 0xffff) {
            throw io::Error(fmt::format("vma writer: blob too large ({} bytes)", len));
        }
        const auto ptr = static_cast<std::uint32_t>(buf_.size());
        io::append_le16(buf_, static_cast<std::uint16_t>(len));
        buf_.insert(buf_.end(), bytes.begin(), bytes.end());
        if (nul) {
            buf_.push_back(0);
        }
        return ptr;
    }
    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return buf_; }

private:
    std::vector<std::uint8_t> buf_{0};
};

}  // namespace

std::vector<std::uint8_t> vma_header_bytes(const Uuid& uuid, std::int64_t ctime,
                                           const std::vector<VmaWriter::Config>& configs,
                                           const std::vector<VmaWriter::Device>& devices)
{
    if (devices.size() > vma::max_devices || configs.size() > vma::max_configs) {
        throw io::Error("vma writer: too many devices or configs");
    }
    std::vector<std::uint8_t> h(vma::blob_buffer_start);
    Blobs blobs;
    for (std::size_t i = 0; i < configs.size(); ++i) {
        if (configs[i].name.empty() || configs[i].name.find('\0') != std::string::npos) {
            throw io::Error("vma writer: invalid config name");
        }
        io::store_be32(h.data() + 2044 + i * 4, blobs.add(configs[i].name, true));
        io::store_be32(h.data() + 3068 + i * 4, blobs.add(configs[i].data, false));
    }
    for (std::size_t i = 0; i < devices.size(); ++i) {
        const auto& d = devices[i];
        if (d.name.empty() || d.name.find('\0') != std::string::npos || d.size == 0 ||
            (d.size + vma::cluster_size - 1) / vma::cluster_size > (std::uint64_t{1} << 32)) {
            throw io::Error(fmt::format("vma writer: invalid device '{}'", d.name));
        }
        std::uint8_t* info = h.data() + 4096 + (i + 1) * 32;
        io::store_be32(info, blobs.add(d.name, true));
        io::store_be64(info + 8, d.size);
    }
    const auto blob_size = static_cast<std::uint32_t>(blobs.bytes().size());
    const std::uint32_t header_size = vma::blob_buffer_start + (blob_size + 511) / 512 * 512;
    h.insert(h.end(), blobs.bytes().begin(), blobs.bytes().end());
    h.resize(header_size);
    std::memcpy(h.data(), vma::header_magic.data(), 4);
    io::store_be32(h.data() + 4, 1);
    std::memcpy(h.data() + 8, uuid.data(), 16);
    io::store_be64(h.data() + 24, static_cast<std::uint64_t>(ctime));
    io::store_be32(h.data() + 48, vma::blob_buffer_start);
    io::store_be32(h.data() + 52, blob_size);
    io::store_be32(h.data() + 56, header_size);
    const Md5 md5 = vma_header_md5(h);
    std::memcpy(h.data() + 32, md5.data(), 16);
    return h;
}

std::uint16_t vma_cluster_blocks(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& stored)
{
    std::uint16_t mask = 0;
    for (unsigned b = 0; b < vma::blocks_per_cluster; ++b) {
        const std::size_t off = b * vma::block_size;
        if (off >= data.size()) {
            break;  // the rest of the cluster is zeros (or past the device end)
        }
        const std::size_t n = std::min(vma::block_size, data.size() - off);
        const auto part = data.subspan(off, n);
        if (all_zero(part)) {
            continue;
        }
        mask = static_cast<std::uint16_t>(mask | (1U << b));
        stored.insert(stored.end(), part.begin(), part.end());
        stored.resize(stored.size() + (vma::block_size - n), 0);  // a short last block, zero-padded
    }
    return mask;
}

std::array<std::uint8_t, vma::extent_header_size> vma_extent_header(const Uuid& uuid,
                                                                    std::span<const std::uint64_t> blockinfos,
                                                                    std::uint16_t block_count)
{
    if (blockinfos.size() > vma::slots_per_extent) {
        throw io::Error(fmt::format("vma writer: {} clusters in one extent", blockinfos.size()));
    }
    std::array<std::uint8_t, vma::extent_header_size> h{};
    std::memcpy(h.data(), vma::extent_magic.data(), 4);
    io::store_be16(h.data() + 6, block_count);
    std::memcpy(h.data() + 8, uuid.data(), 16);
    for (std::size_t i = 0; i < blockinfos.size(); ++i) {
        io::store_be64(h.data() + 40 + i * 8, blockinfos[i]);
    }
    const Md5 md5 = vma_extent_md5(h);
    std::memcpy(h.data() + 24, md5.data(), 16);
    return h;
}

VmaWriter::VmaWriter(io::ByteSink& out, const Uuid& uuid, std::int64_t ctime,
                     const std::vector<Config>& configs, const std::vector<Device>& devices)
    : out_(out), uuid_(uuid)
{
    const std::vector<std::uint8_t> h = vma_header_bytes(uuid, ctime, configs, devices);
    for (const auto& d : devices) {
        device_sizes_.push_back(d.size);
    }
    header_size_ = static_cast<std::uint32_t>(h.size());
    out_.write(h);
    bytes_ += h.size();
    data_.reserve(vma::writer_clusters_per_extent * vma::cluster_size);
}

void VmaWriter::add_cluster(std::uint8_t dev_id, std::uint32_t cluster, std::span<const std::uint8_t> data)
{
    if (finished_) {
        throw io::Error("vma writer: cluster added after finish");
    }
    if (dev_id == 0 || dev_id > device_sizes_.size()) {
        throw io::Error(fmt::format("vma writer: unknown device id {}", dev_id));
    }
    const std::uint64_t size = device_sizes_[dev_id - 1U];
    const std::uint64_t start = std::uint64_t{cluster} * vma::cluster_size;
    if (start >= size || data.size() > vma::cluster_size || data.size() > size - start) {
        throw io::Error(fmt::format("vma writer: cluster {} of device {} past the device end or too long",
                                    cluster, dev_id));
    }
    const std::uint16_t mask = vma_cluster_blocks(data, data_);
    blockinfo_.push_back((std::uint64_t{mask} << 48) | (std::uint64_t{dev_id} << 32) | cluster);
    if (blockinfo_.size() == vma::writer_clusters_per_extent) {
        flush_extent();
    }
}

void VmaWriter::flush_extent()
{
    if (blockinfo_.empty()) {
        return;
    }
    const auto h =
        vma_extent_header(uuid_, blockinfo_, static_cast<std::uint16_t>(data_.size() / vma::block_size));
    out_.write(h);
    out_.write(data_);
    bytes_ += h.size() + data_.size();
    ++extents_;
    blockinfo_.clear();
    data_.clear();
}

void VmaWriter::finish()
{
    flush_extent();
    finished_ = true;
}

}  // namespace pvediff::formats
