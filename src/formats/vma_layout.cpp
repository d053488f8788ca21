// SPDX-License-Identifier: GPL-2.0-or-later
// Lenient VMA layout: only the fields needed to find the blocks are trusted (header
// magic and size, extent magic, block masks); everything else is the verifier's job.
#include "vma_layout.h"

#include <array>
#include <bit>
#include <cstring>

#include "layout_run.h"
#include "pvediff/formats/vma.h"
#include "pvediff/io/bytes.h"

namespace pvediff::formats {
namespace {

using detail::Collector;
using detail::RegionRun;

constexpr std::size_t prefix_size = 60;

class VmaLayoutParser final : public LayoutParser {
public:
    VmaLayoutParser() { collector_.start(0, prefix_size); }

    void feed(std::span<const std::uint8_t> data, std::vector<Region>& out) override
    {
        while (!data.empty()) {
            std::size_t n = 0;
            if (state_ == State::prefix || state_ == State::extent_header) {
                n = collector_.take(data);
            } else {
                n = static_cast<std::size_t>(run_.advance(data.size(), out));
            }
            pos_ += n;
            data = data.subspan(n);
            step(out);
        }
    }

    void finish(std::vector<Region>& out) override
    {
        switch (state_) {
            case State::prefix:
            case State::extent_header:
                if (collector_.size() > 0) {
                    out.push_back(
                        Region{collector_.offset(), collector_.size(), 0, RegionKind::payload, false});
                }
                collector_.stop();
                break;
            case State::header:
                run_.flush(out, RegionKind::metadata, 0);
                break;
            case State::blocks:
            case State::opaque:
                run_.flush(out, RegionKind::payload, 0);
                break;
        }
    }

    [[nodiscard]] std::uint64_t offset() const override { return pos_; }
    [[nodiscard]] bool opaque() const override { return state_ == State::opaque; }

private:
    enum class State { prefix, header, extent_header, blocks, opaque };

    // Moves to the next state when the current unit is complete.
    void step(std::vector<Region>& out)
    {
        switch (state_) {
            case State::prefix:
                if (collector_.complete()) {
                    on_prefix(out);
                }
                break;
            case State::extent_header:
                if (collector_.complete()) {
                    on_extent_header(out);
                }
                break;
            case State::header:
                if (!run_.active()) {
                    start_extent();
                }
                break;
            case State::blocks:
                if (!run_.active()) {
                    if (++next_key_ < key_count_) {
                        run_.start(pos_, vma::block_size, RegionKind::block, keys_[next_key_], 0, out);
                    } else {
                        start_extent();
                    }
                }
                break;
            case State::opaque:
                break;
        }
    }

    void start_extent()
    {
        state_ = State::extent_header;
        collector_.start(pos_, vma::extent_header_size);
    }

    void go_opaque(std::vector<Region>& out)
    {
        state_ = State::opaque;
        run_.start(collector_.offset(), detail::open_end, RegionKind::payload, 0, collector_.size(), out);
        collector_.stop();
    }

    void on_prefix(std::vector<Region>& out)
    {
        const auto h = collector_.bytes();
        const std::uint32_t header_size = io::load_be32(h.data() + 56);
        if (std::memcmp(h.data(), vma::header_magic.data(), 4) != 0 || io::load_be32(h.data() + 4) != 1 ||
            header_size < vma::blob_buffer_start) {
            go_opaque(out);
            return;
        }
        state_ = State::header;
        run_.start(0, header_size, RegionKind::metadata, 0, collector_.size(), out);
        collector_.stop();
        step(out);
    }

    void on_extent_header(std::vector<Region>& out)
    {
        const auto h = collector_.bytes();
        if (std::memcmp(h.data(), vma::extent_magic.data(), 4) != 0) {
            go_opaque(out);
            return;
        }
        const unsigned block_count = io::load_be16(h.data() + 6);
        key_count_ = 0;
        for (std::size_t slot = 0; slot < vma::slots_per_extent; ++slot) {
            const std::uint64_t info = io::load_be64(h.data() + 40 + slot * 8);
            const auto dev_id = static_cast<std::uint8_t>(info >> 32);
            if (dev_id == 0) {
                continue;
            }
            const auto cluster = static_cast<std::uint32_t>(info);
            for (unsigned mask = static_cast<unsigned>(info >> 48); mask != 0; mask &= mask - 1) {
                keys_[key_count_++] =
                    vma_block_key(dev_id, cluster, static_cast<unsigned>(std::countr_zero(mask)));
            }
        }
        if (key_count_ != block_count) {
            go_opaque(out);
            return;
        }
        out.push_back(Region{collector_.offset(), vma::extent_header_size, 0, RegionKind::metadata, false});
        collector_.stop();
        if (key_count_ == 0) {
            start_extent();
            return;
        }
        state_ = State::blocks;
        next_key_ = 0;
        run_.start(pos_, vma::block_size, RegionKind::block, keys_[0], 0, out);
    }

    State state_ = State::prefix;
    std::uint64_t pos_ = 0;
    Collector collector_;
    RegionRun run_;
    std::array<std::uint64_t, vma::slots_per_extent * vma::blocks_per_cluster> keys_{};
    std::size_t key_count_ = 0;
    std::size_t next_key_ = 0;
};

}  // namespace

std::unique_ptr<LayoutParser> make_vma_layout_parser()
{
    return std::make_unique<VmaLayoutParser>();
}

}  // namespace pvediff::formats
