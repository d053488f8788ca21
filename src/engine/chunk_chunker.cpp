// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/chunk_chunker.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "gear.h"
#include "pvediff/io/error.h"

namespace pvediff::engine {

namespace {

using detail::gear_table;

constexpr std::size_t head_bytes = 4096;  // what the layout factory gets to see
constexpr std::size_t unit_hash_bytes = 64;

std::uint64_t cluster_identity(const formats::Region& r)
{
    // Non-zero for VMA blocks (dev ids start at 1, +1 keeps it non-zero anyway).
    return r.kind == formats::RegionKind::block ? (r.key >> 4) + 1 : 0;
}

}  // namespace

void check_chunk_params(const ChunkParams& p)
{
    if (p.min_size < 64 || p.min_size >= p.avg_size || p.avg_size >= p.max_size ||
        p.max_size > (std::uint32_t{1} << 24) || p.boundary_ratio == 0 ||
        !std::has_single_bit(p.boundary_ratio)) {
        throw io::Error("chunk parameters out of range: need 64 <= min < avg < max <= 16 MiB");
    }
}

LayoutFactory format_layout_factory()
{
    return [](std::span<const std::uint8_t> head) -> std::unique_ptr<formats::LayoutParser> {
        const auto format = formats::detect_format(head);
        if (format == formats::ArchiveFormat::unknown) {
            return nullptr;
        }
        return formats::make_layout_parser(format);
    };
}

Chunker::Chunker(ChunkParams params, LayoutFactory layout, ChunkCallback on_chunk)
    : params_(params), layout_factory_(std::move(layout)), on_chunk_(std::move(on_chunk))
{
    check_chunk_params(params_);
    // Expected chunk length is about min + 2^bits.
    const std::uint32_t spread = params_.avg_size - params_.min_size;
    mask_bits_ = std::max(1, static_cast<int>(std::bit_width(spread)) - 1);
    if ((spread - (std::uint32_t{1} << mask_bits_)) > (std::uint32_t{1} << mask_bits_) / 2) {
        ++mask_bits_;  // round to the nearest power of two
    }
    generic_ = !layout_factory_;
    started_ = generic_;
}

Chunker::~Chunker() = default;

void Chunker::start(bool at_end)
{
    if (!at_end && buf_.size() - head_ < head_bytes) {
        return;  // wait for enough bytes to recognise the format
    }
    started_ = true;
    const std::size_t n = std::min(buf_.size() - head_, head_bytes);
    parser_ = layout_factory_(std::span<const std::uint8_t>(buf_.data() + head_, n));
    generic_ = !parser_;
    if (parser_) {
        parser_->feed(std::span<const std::uint8_t>(buf_.data() + head_, buf_.size() - head_), regions_);
    }
}

void Chunker::feed(std::span<const std::uint8_t> data)
{
    if (data.empty()) {
        return;
    }
    // Compact when the consumed prefix dominates, so buf_ stays bounded.
    if (head_ > 0 && head_ >= buf_.size() / 2) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    buf_.insert(buf_.end(), data.begin(), data.end());
    fed_ += data.size();
    if (!started_) {
        start(false);
    } else if (parser_) {
        parser_->feed(data, regions_);
    }
    if (started_) {
        if (generic_) {
            process(fed_);
        } else {
            take_regions();
        }
    }
}

void Chunker::finish()
{
    if (!started_) {
        start(true);
    }
    if (parser_) {
        parser_->finish(regions_);
        take_regions();
    }
    process(fed_);  // generic, or bytes a faulty parser never reported
    if (proc_ > chunk_start_) {
        cut(static_cast<std::size_t>(proc_ - chunk_start_));
    }
}

void Chunker::take_regions()
{
    for (; next_region_ < regions_.size(); ++next_region_) {
        const formats::Region& r = regions_[next_region_];
        if (r.offset != proc_ || r.length == 0 || r.offset + r.length > fed_) {
            throw io::Error(fmt::format("layout parser reported region at offset {} while chunking at {}",
                                        r.offset, proc_));
        }
        const std::uint64_t identity = cluster_identity(r);
        if (!prev_continues_) {
            if (identity != 0 || prev_cluster_ != 0) {
                // Into, out of or between VMA clusters: cut exactly where the cluster
                // changes, never inside one.
                if (identity != prev_cluster_ && proc_ > chunk_start_) {
                    cut(static_cast<std::size_t>(proc_ - chunk_start_));
                }
            } else {
                begin_unit(r);
            }
        }
        region_cluster_ = identity != 0 ? r.key & ~std::uint64_t{15} : 0;
        prev_cluster_ = identity;
        prev_continues_ = r.continues;
        process(r.offset + r.length);
    }
    regions_.clear();
    next_region_ = 0;
}

void Chunker::begin_unit(const formats::Region& region)
{
    const std::uint64_t len = proc_ - chunk_start_;
    bool cut_here = false;
    if (len >= params_.min_size) {
        const std::size_t at = head_ + static_cast<std::size_t>(proc_ - chunk_start_);
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(region.length, unit_hash_bytes));
        const std::uint64_t h = XXH3_64bits(buf_.data() + at, n);
        cut_here = (h & (params_.boundary_ratio - 1)) == 0;
    }
    if (cut_here) {
        cut(static_cast<std::size_t>(len));
    }
}

void Chunker::process(std::uint64_t end)
{
    const std::uint64_t min = params_.min_size;
    const std::uint64_t max = params_.max_size;
    const int shift = 64 - mask_bits_;
    while (proc_ < end) {
        if (proc_ == chunk_start_) {
            chunk_cluster_ = region_cluster_;
        }
        std::uint64_t len = proc_ - chunk_start_;
        // Bytes we may scan before a forced cut at max_size.
        const std::uint64_t limit = std::min(end - proc_, max - len);
        if (region_cluster_ != 0) {
            // VMA blocks: a cluster (<= 64 KiB) is one chunk; take_regions() cuts
            // where the cluster changes.
            proc_ += limit;
            if (proc_ - chunk_start_ >= max) {
                cut(static_cast<std::size_t>(proc_ - chunk_start_));
            }
            continue;
        }
        const std::uint8_t* p = buf_.data() + head_ + len;
        std::uint64_t i = 0;
        std::uint64_t g = gear_;
        bool found = false;
        // Below min_size no cut is allowed; the hash only needs the last 64 bytes
        // before min_size, so skip ahead.
        if (len + limit > min && len + 64 < min) {
            const std::uint64_t skip = min - 64 - len;
            i = skip;
            g = 0;
        }
        // Up to min_size one byte at a time (at most 64 bytes after the skip).
        for (; i < limit && len + i + 1 < min; ++i) {
            g = (g << 1) + gear_table[p[i]];
        }
        // Then four at a time (gear.h); a group with a candidate cut is redone byte
        // by byte.
        for (; i + 4 <= limit; i += 4) {
            const detail::GearGroup r = detail::gear_roll4(g, p + i);
            if ((r.least >> shift) == 0) {
                break;
            }
            g = r.last;
        }
        for (; i < limit; ++i) {
            g = (g << 1) + gear_table[p[i]];
            if (len + i + 1 >= min && (g >> shift) == 0) {
                ++i;
                found = true;
                break;
            }
        }
        gear_ = g;
        proc_ += i;
        len += i;
        if (found || len >= max) {
            cut(static_cast<std::size_t>(len));
        }
    }
}

void Chunker::cut(std::size_t length)
{
    Chunk c;
    c.offset = chunk_start_;
    c.length = static_cast<std::uint32_t>(length);
    c.hash = XXH3_64bits(buf_.data() + head_, length);
    c.cluster_key = chunk_cluster_;
    on_chunk_(c, std::span<const std::uint8_t>(buf_.data() + head_, length));
    head_ += length;
    chunk_start_ += length;
    gear_ = 0;
    chunk_cluster_ = 0;
}

}  // namespace pvediff::engine
