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
}  // namespace

void BlockScan::want(std::span<const std::uint8_t> bytes, std::uint64_t owner)
{
    for (std::size_t at = 0; at + block <= bytes.size() && wanted_count_ < max_wanted; at += block) {
        const std::uint8_t* b = bytes.data() + at;
        wanted_[XXH3_64bits(b, block)].push_back(owner);
        prefixes_.insert(prefix_hash(b));
        ++wanted_count_;
    }
}

void BlockScan::feed(std::uint64_t pos, std::span<const std::uint8_t> bytes)
{
    if (wanted_.empty() || bytes.empty()) {
        return;
    }
    // A block may straddle two pieces: scan the carried tail and the new piece as one.
    if (carry_.empty()) {
        carry_pos_ = pos;
    }
    work_.assign(carry_.begin(), carry_.end());
    work_.insert(work_.end(), bytes.begin(), bytes.end());
    const std::uint64_t start = carry_pos_;
    const std::uint64_t first = (start + step - 1) / step * step;
    scan(start, work_, first);
    // Keep what the next piece completes: from the first position not yet scanned.
    const std::uint64_t end = start + work_.size();
    std::uint64_t next = first;
    while (next + block <= end) {
        next += step;
    }
    if (next >= end) {
        carry_.clear();  // the next piece starts where scanning resumes
        return;
    }
    carry_.assign(work_.begin() + static_cast<std::ptrdiff_t>(next - start), work_.end());
    carry_pos_ = next;
}

void BlockScan::scan(std::uint64_t pos, std::span<const std::uint8_t> bytes, std::uint64_t from)
{
    for (std::uint64_t p = from; p + block <= pos + bytes.size(); p += step) {
        const std::uint8_t* b = bytes.data() + (p - pos);
        if (!prefixes_.contains(prefix_hash(b))) {
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
