// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Internal helpers shared by the layout parsers: a "run" (one logical unit of known
// or open-ended length) that reports itself in max_region_length pieces as the
// stream passes, and a fixed-size collector for headers the parser must look into.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "pvediff/formats/layout.h"

namespace pvediff::formats::detail {

inline constexpr std::uint64_t open_end = std::numeric_limits<std::uint64_t>::max();

class RegionRun {
public:
    // A unit [offset, offset + length) of which `consumed` bytes have already passed.
    void start(std::uint64_t offset, std::uint64_t length, RegionKind kind, std::uint64_t key,
               std::uint64_t consumed, std::vector<Region>& out)
    {
        piece_ = offset;
        end_ = length == open_end ? open_end : offset + length;
        pos_ = offset;
        kind_ = kind;
        key_ = key;
        active_ = true;
        advance(consumed, out);
    }

    // Takes up to `available` bytes of the unit; returns how many it took.
    std::uint64_t advance(std::uint64_t available, std::vector<Region>& out)
    {
        const std::uint64_t take = std::min(available, end_ - pos_);
        pos_ += take;
        while (end_ - piece_ > max_region_length && pos_ - piece_ >= max_region_length) {
            out.push_back(Region{piece_, max_region_length, key_, kind_, true});
            piece_ += max_region_length;
        }
        if (pos_ == end_) {
            if (pos_ > piece_) {
                out.push_back(Region{piece_, pos_ - piece_, key_, kind_, false});
            }
            active_ = false;
        }
        return take;
    }

    // End of stream inside the unit: reports what passed of it.
    void flush(std::vector<Region>& out, RegionKind kind, std::uint64_t key)
    {
        if (active_ && pos_ > piece_) {
            out.push_back(Region{piece_, pos_ - piece_, key, kind, false});
        }
        active_ = false;
    }

    [[nodiscard]] bool active() const { return active_; }
    [[nodiscard]] RegionKind kind() const { return kind_; }
    [[nodiscard]] std::uint64_t key() const { return key_; }

private:
    std::uint64_t piece_ = 0;
    std::uint64_t end_ = 0;
    std::uint64_t pos_ = 0;
    std::uint64_t key_ = 0;
    RegionKind kind_ = RegionKind::payload;
    bool active_ = false;
};

// Gathers the next `want` bytes of the stream (a header) into a buffer.
class Collector {
public:
    void start(std::uint64_t offset, std::size_t want)
    {
        offset_ = offset;
        want_ = want;
        buf_.clear();
        active_ = true;
    }
    // Returns the count taken from data; complete() tells whether the header is whole.
    std::size_t take(std::span<const std::uint8_t> data)
    {
        const std::size_t n = std::min(data.size(), want_ - buf_.size());
        buf_.insert(buf_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
        return n;
    }
    [[nodiscard]] bool complete() const { return buf_.size() == want_; }
    [[nodiscard]] bool active() const { return active_; }
    void stop() { active_ = false; }
    [[nodiscard]] std::uint64_t offset() const { return offset_; }
    [[nodiscard]] std::size_t size() const { return buf_.size(); }
    [[nodiscard]] std::span<const std::uint8_t> bytes() const { return buf_; }

private:
    std::vector<std::uint8_t> buf_;
    std::uint64_t offset_ = 0;
    std::size_t want_ = 0;
    bool active_ = false;
};

}  // namespace pvediff::formats::detail
