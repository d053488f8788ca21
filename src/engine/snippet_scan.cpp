// SPDX-License-Identifier: GPL-2.0-or-later
#include "snippet_scan.h"

#include <algorithm>
#include <limits>

#include "gear.h"

namespace pvediff::engine::detail {

namespace {
constexpr int point_shift = SnippetScan::point_shift;
constexpr std::uint64_t window = SnippetScan::window;
// Points closer than this to the previous one are skipped, so repetitive content (a
// run of one byte gives the same hash at every position) costs no flood of lookups.
constexpr std::uint64_t min_spacing = 32;
// Two hits confirm a diagonal when this close in the full and in the diagonal.
constexpr std::uint64_t confirm_distance = std::uint64_t{16} * 1024;
constexpr std::uint64_t confirm_skew = 64;
// A hit this far past a range asked for extends it.
constexpr std::uint64_t extend_gap = 4096;
// Regions wanting one hash, at most (common snippets would cost a lookup each).
constexpr std::size_t max_per_key = 8;
constexpr int snippet_filter_bits = 24;

// Calls on_point(offset, hash) for each point in `bytes`, which start at stream
// offset `pos`; `h` and `last` carry the rolling state between calls.
template <class OnPoint>
void roll_points(std::span<const std::uint8_t> bytes, std::uint64_t pos, std::uint64_t& h,
                 std::uint64_t& last, OnPoint&& on_point)
{
    const std::uint8_t* p = bytes.data();
    const std::size_t n = bytes.size();
    std::uint64_t g = h;
    auto step = [&](std::size_t i) {
        g = (g << 1) + gear_table[p[i]];
        if ((g >> point_shift) == 0) {
            const std::uint64_t at = pos + i + 1;  // a point follows its window
            if (at >= window && at - last >= min_spacing) {
                last = at;
                on_point(at, g);
            }
        }
    };
    std::size_t i = 0;
    // Four bytes at a time (gear.h); bytes with a candidate point (one group in 256)
    // are redone one at a time.
    for (; i + 4 <= n; i += 4) {
        const GearGroup r = gear_roll4(g, p + i);
        if ((r.least >> point_shift) != 0) {
            g = r.last;
            continue;
        }
        for (std::size_t k = 0; k < 4; ++k) {
            step(i + k);
        }
    }
    for (; i < n; ++i) {
        step(i);
    }
    h = g;
}

std::size_t filter_slot(std::uint64_t key)
{
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> (64 - snippet_filter_bits));
}
}  // namespace

void SnippetScan::want(std::span<const std::uint8_t> bytes, std::uint64_t owner, std::span<const Range> asked)
{
    if (prepared_ || bytes.size() < window || wanted_.size() >= max_wanted) {
        return;
    }
    bytes = bytes.first(std::min<std::size_t>(bytes.size(), std::numeric_limits<std::uint32_t>::max()));
    const auto region = static_cast<std::uint32_t>(regions_.size());
    const std::size_t before = wanted_.size();
    std::uint64_t h = 0;
    std::uint64_t last = 0;
    roll_points(bytes, 0, h, last, [&](std::uint64_t at, std::uint64_t key) {
        if (wanted_.size() < max_wanted) {
            wanted_.push_back({key, region, static_cast<std::uint32_t>(at)});
        }
    });
    if (wanted_.size() == before) {
        return;
    }
    Region r;
    r.owner = owner;
    r.length = bytes.size();
    r.budget = std::min(budget_factor * bytes.size(), max_budget) + 2 * reach;
    r.known.assign(asked.begin(), asked.end());
    regions_.push_back(std::move(r));
}

void SnippetScan::prepare()
{
    prepared_ = true;
    std::sort(wanted_.begin(), wanted_.end(), [](const Wanted& a, const Wanted& b) {
        return a.key != b.key         ? a.key < b.key
               : a.region != b.region ? a.region < b.region
                                      : a.offset < b.offset;
    });
    // One point per hash and region (its first), and few regions per hash.
    std::size_t out = 0;
    std::size_t same_key = 0;
    for (std::size_t i = 0; i < wanted_.size(); ++i) {
        const Wanted& w = wanted_[i];
        if (out > 0 && wanted_[out - 1].key == w.key) {
            if (wanted_[out - 1].region == w.region || same_key >= max_per_key) {
                continue;
            }
            ++same_key;
        } else {
            same_key = 1;
        }
        wanted_[out++] = w;
    }
    wanted_.resize(out);
    wanted_.shrink_to_fit();
    filter_.assign((std::size_t{1} << snippet_filter_bits) / 64, 0);
    for (const Wanted& w : wanted_) {
        const std::size_t slot = filter_slot(w.key);
        filter_[slot / 64] |= std::uint64_t{1} << (slot % 64);
    }
}

bool SnippetScan::maybe_wanted(std::uint64_t key) const
{
    const std::size_t slot = filter_slot(key);
    return (filter_[slot / 64] >> (slot % 64) & 1) != 0;
}

void SnippetScan::feed(std::uint64_t pos, std::span<const std::uint8_t> bytes)
{
    if (regions_.empty()) {
        return;
    }
    if (!prepared_) {
        prepare();
    }
    roll_points(bytes, pos, gear_, last_point_, [this](std::uint64_t at, std::uint64_t key) {
        if (maybe_wanted(key)) {
            on_point(at, key);
        }
    });
}

void SnippetScan::on_point(std::uint64_t full_pos, std::uint64_t key)
{
    auto it = std::lower_bound(wanted_.begin(), wanted_.end(), key,
                               [](const Wanted& w, std::uint64_t k) { return w.key < k; });
    for (; it != wanted_.end() && it->key == key; ++it) {
        on_hit(regions_[it->region], full_pos, it->offset);
    }
}

// The full's [full_pos - 64, full_pos) has the hash of the region's [offset - 64, offset).
void SnippetScan::on_hit(Region& region, std::uint64_t full_pos, std::uint32_t offset)
{
    const std::uint64_t from = full_pos - window;
    for (const Range& k : region.known) {
        if (from >= k.lo && full_pos <= k.hi) {
            return;  // fine matching sees these bytes anyway
        }
    }
    std::uint64_t hi = full_pos + std::min(region.length - offset, reach);
    for (Asked& a : region.asked) {
        if (from < a.lo || full_pos > a.hi + extend_gap) {
            continue;
        }
        hi = std::min(hi, a.hi + region.budget);
        if (hi <= a.hi) {
            return;
        }
        if (capture_.extend(a.ticket, hi)) {
            region.budget -= hi - a.hi;
            a.hi = hi;
            return;
        }
        break;  // its end has gone by: a new range
    }
    const Hit last = region.last_hit;
    const std::uint64_t diagonal = full_pos - offset;  // mod 2^64, compared as such
    const std::uint64_t last_diagonal = last.full_pos - last.offset;
    const bool confirmed =
        last.valid && full_pos - last.full_pos <= confirm_distance &&
        std::max(diagonal, last_diagonal) - std::min(diagonal, last_diagonal) <= confirm_skew;
    if (!confirmed) {
        region.last_hit = Hit{full_pos, offset, true};
        return;
    }
    region.last_hit.valid = false;
    if (region.asked.size() >= std::max<std::uint64_t>(min_ranges, region.length / bytes_per_range)) {
        return;
    }
    std::uint64_t lo = last.full_pos - std::min({last.full_pos, std::uint64_t{last.offset}, reach});
    lo = std::max(lo, capture_.kept_to());
    hi = std::min(hi, lo + region.budget);
    if (hi <= lo + window) {
        return;
    }
    region.asked.push_back({capture_.request(lo, hi), lo, hi});
    region.budget -= hi - lo;
    ++ranges_asked_;
}

std::vector<BaseCapture::Ticket> SnippetScan::tickets(std::uint64_t owner) const
{
    std::vector<BaseCapture::Ticket> out;
    const auto it = std::lower_bound(regions_.begin(), regions_.end(), owner,
                                     [](const Region& r, std::uint64_t o) { return r.owner < o; });
    if (it != regions_.end() && it->owner == owner) {
        for (const Asked& a : it->asked) {
            out.push_back(a.ticket);
        }
    }
    return out;
}

}  // namespace pvediff::engine::detail
