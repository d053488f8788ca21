// SPDX-License-Identifier: GPL-2.0-or-later
#include "block_scan.h"

#include <xxhash.h>

namespace pvediff::engine::detail {

namespace {
constexpr std::size_t prefix = 64;
std::uint64_t prefix_hash(const std::uint8_t* p)
{
    return XXH3_64bits(p, prefix);
}
// The wanted prefixes as bits: a probe is one load of a small table, where a hash set
// cost a cache miss or two at every position of the full.
constexpr int prefix_filter_bits = 23;
std::size_t filter_bit(std::uint64_t prefix_hash)
{
    return static_cast<std::size_t>(prefix_hash >> (64 - prefix_filter_bits));
}
}  // namespace

void BlockScan::want(std::span<const std::uint8_t> bytes, std::uint64_t owner)
{
    if (prefixes_.empty() && bytes.size() >= block) {
        prefixes_.assign((std::size_t{1} << prefix_filter_bits) / 64, 0);
    }
    for (std::size_t at = 0; at + block <= bytes.size() && wanted_count_ < max_wanted; at += block) {
        const std::uint8_t* b = bytes.data() + at;
        wanted_[XXH3_64bits(b, block)].push_back(owner);
        const std::size_t bit = filter_bit(prefix_hash(b));
        prefixes_[bit / 64] |= std::uint64_t{1} << (bit % 64);
        ++wanted_count_;
    }
}

void BlockScan::feed(std::uint64_t pos, std::span<const std::uint8_t> bytes)
{
    if (wanted_.empty() || bytes.empty()) {
        return;
    }
    const std::uint64_t end = pos + bytes.size();
    // The first position not yet scanned; positions are multiples of `step`.
    std::uint64_t next = carry_.empty() ? (pos + step - 1) / step * step : carry_pos_;
    if (!carry_.empty()) {
        // Blocks that start in the carried tail end in this piece's first block: scan
        // them on a copy of the two; the rest of the piece is scanned where it is.
        work_.assign(carry_.begin(), carry_.end());
        work_.insert(work_.end(), bytes.begin(),
                     bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), block)));
        next = scan(carry_pos_, work_, next);
        carry_.clear();
        if (next < pos) {
            // A piece shorter than a block: work_ holds all of it; keep waiting.
            carry_.assign(work_.begin() + static_cast<std::ptrdiff_t>(next - carry_pos_), work_.end());
            carry_pos_ = next;
            return;
        }
    }
    next = scan(pos, bytes, next);
    if (next < end) {  // the next piece completes these blocks
        carry_.assign(bytes.begin() + static_cast<std::ptrdiff_t>(next - pos), bytes.end());
        carry_pos_ = next;
    }
}

std::uint64_t BlockScan::scan(std::uint64_t pos, std::span<const std::uint8_t> bytes, std::uint64_t from)
{
    std::uint64_t p = from;
    for (; p + block <= pos + bytes.size(); p += step) {
        const std::uint8_t* b = bytes.data() + (p - pos);
        const std::size_t bit = filter_bit(prefix_hash(b));
        if ((prefixes_[bit / 64] >> (bit % 64) & 1) == 0) {
            continue;
        }
        const auto it = wanted_.find(XXH3_64bits(b, block));
        if (it == wanted_.end()) {
            continue;
        }
        const std::uint64_t at = spill_.append(std::span<const std::uint8_t>(b, block));
        for (const std::uint64_t owner : it->second) {
            found_[owner].push_back({at, p});
            ++found_count_;
        }
        wanted_.erase(it);  // the first place is as good as any
    }
    return p;
}

const std::vector<BlockScan::Found>& BlockScan::found(std::uint64_t owner) const
{
    static const std::vector<Found> none;
    const auto it = found_.find(owner);
    return it == found_.end() ? none : it->second;
}

void BlockScan::read(const Found& f, std::vector<std::uint8_t>& out) const
{
    out.resize(block);
    spill_.read(f.spill_at, out);
}

}  // namespace pvediff::engine::detail
