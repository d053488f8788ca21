// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/vma_item_digest.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "pvediff/formats/vma.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::formats {

namespace {
constexpr std::string_view domain = "pvediff-vma-items-1\n";
}  // namespace

VmaItemDigest::VmaItemDigest()
{
    sha_.update(std::span(reinterpret_cast<const std::uint8_t*>(domain.data()), domain.size()));
}

void VmaItemDigest::add_item(std::span<const std::uint8_t> bytes)
{
    io::Sha256 item;
    item.update(bytes);
    add_item_hash(item.finish());
}

void VmaItemDigest::add_item_hash(const io::Digest& item_sha256)
{
    sha_.update(item_sha256);
}

io::Digest VmaItemDigest::finish()
{
    return sha_.finish();
}

// The stream is parsed as a small state machine over whatever pieces arrive: the
// VMA header and each extent header are gathered whole in `head` (they are items and
// their fields decide what follows); stored blocks are hashed as they pass, one
// cluster's blocks per item, never buffered.
struct VmaItemHashingSink::Impl {
    enum class State { header, extent_header, blocks };

    explicit Impl(std::string stream_name) : name(std::move(stream_name)) {}

    std::string name;
    VmaItemDigest items;
    State state = State::header;
    std::vector<std::uint8_t> head;                   // the header or extent header gathered so far
    std::size_t head_size = vma::header_prefix_size;  // what `head` must reach
    std::uint64_t head_offset = 0;                    // where it starts in the stream
    std::uint64_t offset = 0;                         // bytes taken so far
    // The extent being read: the stored size of each non-empty cluster, in slot order.
    std::array<std::size_t, vma::slots_per_extent> cluster_sizes{};
    std::size_t clusters = 0;
    std::size_t cluster_index = 0;
    std::size_t cluster_left = 0;
    std::optional<io::Sha256> cluster_sha;
    bool finished = false;
    io::Digest digest{};

    // Takes bytes into `head` up to head_size; returns how many it took.
    std::size_t gather(std::span<const std::uint8_t> data)
    {
        const std::size_t n = std::min(data.size(), head_size - head.size());
        head.insert(head.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
        return n;
    }

    void header_piece()
    {
        if (head.size() == vma::header_prefix_size && head_size == vma::header_prefix_size) {
            head_size = vma_header_size(head, name);  // checks magic, version and size
            head.reserve(head_size);
        }
        if (head.size() < head_size) {
            return;
        }
        items.add_item(head);
        begin_extent_header();
    }

    void begin_extent_header()
    {
        state = State::extent_header;
        head.clear();
        if (head.capacity() > vma::extent_header_size) {
            head.shrink_to_fit();  // the VMA header may be large (up to 64 MiB); keep no more
        }
        head_size = vma::extent_header_size;
        head.reserve(head_size);
        head_offset = offset;
    }

    void extent_header_complete()
    {
        if (!std::equal(vma::extent_magic.begin(), vma::extent_magic.end(), head.begin())) {
            io::throw_parse_error(name, head_offset, "bad extent magic");
        }
        clusters = 0;
        std::uint64_t blocks = 0;
        for (std::size_t slot = 0; slot < vma::slots_per_extent; ++slot) {
            const std::uint64_t info = io::load_be64(head.data() + 40 + slot * 8);
            // A slot of device 0 is unused, whatever else it holds (as Proxmox's reader
            // and verify_vma take it); its mask then counts for nothing below.
            if (static_cast<std::uint8_t>(info >> 32) == 0) {
                continue;
            }
            const auto stored =
                static_cast<std::size_t>(std::popcount(static_cast<std::uint16_t>(info >> 48)));
            blocks += stored;
            if (stored != 0) {
                cluster_sizes[clusters++] = stored * vma::block_size;
            }
        }
        // Every byte of the extent must belong to a cluster's item: a block count the
        // masks do not account for would leave bytes outside the digest.
        const std::uint16_t block_count = io::load_be16(head.data() + 6);
        if (blocks != block_count) {
            io::throw_parse_error(
                name, head_offset + 6,
                fmt::format("extent block count {} but masks list {} blocks", block_count, blocks));
        }
        items.add_item(head);
        cluster_index = 0;
        if (clusters == 0) {
            begin_extent_header();
            return;
        }
        state = State::blocks;
        cluster_left = cluster_sizes[0];
        cluster_sha.emplace();
    }

    // Hashes stored blocks of the current cluster; returns how many bytes it took.
    std::size_t blocks_piece(std::span<const std::uint8_t> data)
    {
        const std::size_t n = std::min(data.size(), cluster_left);
        cluster_sha->update(data.first(n));
        cluster_left -= n;
        return n;
    }

    // After the current cluster's last byte (offset counts it already).
    void cluster_complete()
    {
        items.add_item_hash(cluster_sha->finish());
        cluster_sha.reset();
        if (++cluster_index < clusters) {
            cluster_left = cluster_sizes[cluster_index];
            cluster_sha.emplace();
        } else {
            begin_extent_header();
        }
    }

    void write(std::span<const std::uint8_t> data)
    {
        if (finished) {
            throw io::Error(fmt::format("'{}': vma item digest: write after finish", name));
        }
        while (!data.empty()) {
            std::size_t n = 0;
            switch (state) {
                case State::header:
                    n = gather(data);
                    offset += n;
                    header_piece();
                    break;
                case State::extent_header:
                    n = gather(data);
                    offset += n;
                    if (head.size() == head_size) {
                        extent_header_complete();
                    }
                    break;
                case State::blocks:
                    n = blocks_piece(data);
                    offset += n;
                    if (cluster_left == 0) {
                        cluster_complete();
                    }
                    break;
            }
            data = data.subspan(n);
        }
    }

    void finish()
    {
        if (finished) {
            return;
        }
        switch (state) {
            case State::header:
                io::throw_parse_error(
                    name, offset,
                    head_size == vma::header_prefix_size
                        ? fmt::format("truncated vma header ({} bytes)", head.size())
                        : fmt::format("truncated vma header ({} of {} bytes)", head.size(), head_size));
            case State::extent_header:
                if (!head.empty()) {
                    io::throw_parse_error(
                        name, offset, fmt::format("truncated extent header ({} of 512 bytes)", head.size()));
                }
                break;
            case State::blocks:
                io::throw_parse_error(name, offset, "truncated extent: the stream ends inside its blocks");
        }
        finished = true;
        digest = items.finish();
    }
};

VmaItemHashingSink::VmaItemHashingSink(std::string name) : impl_(std::make_unique<Impl>(std::move(name)))
{
}

VmaItemHashingSink::~VmaItemHashingSink() = default;

void VmaItemHashingSink::write(std::span<const std::uint8_t> data)
{
    impl_->write(data);
}

void VmaItemHashingSink::finish()
{
    impl_->finish();
}

const std::string& VmaItemHashingSink::name() const
{
    return impl_->name;
}

std::uint64_t VmaItemHashingSink::bytes() const
{
    return impl_->offset;
}

io::Digest VmaItemHashingSink::digest() const
{
    if (!impl_->finished) {
        throw io::Error(fmt::format("'{}': vma item digest asked before the stream ended", impl_->name));
    }
    return impl_->digest;
}

}  // namespace pvediff::formats
