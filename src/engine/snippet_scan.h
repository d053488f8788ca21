// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Finds where in the full the bytes of a changed region already were, at any byte
// alignment: a file that sits in the full inside another file (a package's files in
// its archive, lines of a log in a rotated copy) and in the new archive on its own.
// Chunk lookups, VMA anchors and the block scan (whole 4 KiB blocks at 512-byte steps)
// miss it; xdelta3 with a 1 GiB window finds it, with 1 GiB of memory.
//
// Snippet points are positions chosen by content alone (the gear hash's top bits,
// about one position in 1024), so the same bytes give the same points in both
// streams wherever they sit. The changed regions' points are wanted (their hashes);
// the read of the full looks each of its own points up. Two hits close together on
// one diagonal (full offset - offset in the region) ask the capture for the full's
// bytes along it, and fine matching then sees them. A lone hit asks nothing: common
// snippets (headers, boilerplate) would otherwise fill the region's few ranges.
// Memory: 16 bytes per wanted point (at most max_wanted) and a 2 MiB filter.
#include <cstdint>
#include <span>
#include <vector>

#include "base_capture.h"

namespace pvediff::engine::detail {

class SnippetScan {
public:
    struct Range {
        std::uint64_t lo;
        std::uint64_t hi;
    };
    // Wanted points at most (2 GiB of changed regions at one point per 1024 bytes).
    static constexpr std::size_t max_wanted = std::size_t{1} << 21;
    // Ranges of the full asked for one region, at most: 4, or one per 64 KiB of a
    // larger region (a gap of many new files finds each in another place). Their
    // bytes: at most budget_factor x the region's length plus 2 x reach.
    static constexpr std::size_t min_ranges = 4;
    static constexpr std::uint64_t bytes_per_range = 64 * 1024;
    static constexpr std::uint64_t budget_factor = 4;
    // ...and at most this: fine matching holds a region's ranges in memory, with a
    // table of up to 2 bytes per byte (on the 2 GB tar pair, 4 MiB: 8.17 MB delta,
    // 138 MB peak RSS; 16 MiB: 8.04 MB, 189 MB).
    static constexpr std::uint64_t max_budget = std::uint64_t{16} << 20;
    // Asked for before the first hit and after the last one along a diagonal.
    static constexpr std::uint64_t reach = 64 * 1024;
    // A point: where the gear hash's top 10 bits are zero (one position in 1024; one
    // in 512 found more short, spurious diagonals, which use up a region's budget:
    // 4 % larger deltas on the bench's pairs); its hash depends on the `window` bytes
    // before it.
    static constexpr int point_shift = 54;
    static constexpr std::uint64_t window = 64;

    explicit SnippetScan(BaseCapture& capture) : capture_(capture) {}

    // Looks for `bytes` (a changed region; at most 4 GiB) on behalf of `owner`, in
    // ascending owner order, before the read of the full. Hits inside `asked` (the
    // ranges of the full already asked for this region) are ignored.
    void want(std::span<const std::uint8_t> bytes, std::uint64_t owner, std::span<const Range> asked);
    // The full's stream, in order, in pieces of any size; called by the capture's
    // observer, before the capture keeps the piece.
    void feed(std::uint64_t pos, std::span<const std::uint8_t> bytes);
    // The ranges asked for `owner` (empty if none).
    [[nodiscard]] std::vector<BaseCapture::Ticket> tickets(std::uint64_t owner) const;
    [[nodiscard]] std::uint64_t ranges_asked() const { return ranges_asked_; }

private:
    struct Wanted {
        std::uint64_t key;
        std::uint32_t region;  // index in regions_
        std::uint32_t offset;  // of the point in the region
    };
    struct Hit {
        std::uint64_t full_pos = 0;
        std::uint32_t offset = 0;
        bool valid = false;
    };
    struct Asked {
        BaseCapture::Ticket ticket;
        std::uint64_t lo;
        std::uint64_t hi;
    };
    struct Region {
        std::uint64_t owner;
        std::uint64_t length;
        std::uint64_t budget;  // bytes still to ask for
        std::vector<Range> known;
        Hit last_hit;  // the last unconfirmed hit
        std::vector<Asked> asked;
    };

    void prepare();
    void on_point(std::uint64_t full_pos, std::uint64_t key);
    void on_hit(Region& region, std::uint64_t full_pos, std::uint32_t offset);
    [[nodiscard]] bool maybe_wanted(std::uint64_t key) const;

    BaseCapture& capture_;
    std::vector<Region> regions_;
    std::vector<Wanted> wanted_;  // sorted by key once the read starts
    std::vector<std::uint64_t> filter_;
    bool prepared_ = false;
    // The full's rolling state across pieces.
    std::uint64_t gear_ = 0;
    std::uint64_t last_point_ = 0;
    std::uint64_t ranges_asked_ = 0;
};

}  // namespace pvediff::engine::detail
