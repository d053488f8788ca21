// SPDX-License-Identifier: GPL-2.0-or-later
#include "source_stash.h"

#include <algorithm>
#include <cstring>

#include "pvediff/io/error.h"

namespace pvediff::engine {

namespace {
// Consecutive pieces with the same last use are joined up to this size: few map
// entries for long runs, while a spilled piece is still read back in modest bites.
constexpr std::uint64_t max_piece = std::uint64_t{1} << 20;
}  // namespace

SourceStash::SourceStash(std::filesystem::path spill_dir, std::uint64_t memory_limit,
                         std::filesystem::path fallback_spill_dir)
    : memory_limit_(memory_limit), spill_file_(std::move(spill_dir), std::move(fallback_spill_dir))
{
}

void SourceStash::spill(Piece& piece, std::span<const std::uint8_t> data)
{
    piece.spilled = true;
    piece.spill_offset = spill_file_.append(data);
    spilled_ += data.size();
    spilled_live_ += data.size();
    spilled_peak_ = std::max(spilled_peak_, spilled_live_);
}

void SourceStash::put(std::uint64_t offset, std::span<const std::uint8_t> data, std::uint64_t last_use,
                      std::uint64_t planned_end)
{
    // Pieces never cross a max_piece-aligned offset, so that an aligned block lies
    // within one piece whenever it is kept whole (see view()).
    while (data.size() > max_piece - offset % max_piece) {
        const auto head = static_cast<std::size_t>(max_piece - offset % max_piece);
        put_one(offset, data.first(head), last_use, planned_end);
        offset += head;
        data = data.subspan(head);
    }
    put_one(offset, data, last_use, planned_end);
}

void SourceStash::put_one(std::uint64_t offset, std::span<const std::uint8_t> data, std::uint64_t last_use,
                          std::uint64_t planned_end)
{
    if (data.empty()) {
        return;
    }
    ++generation_;  // an append may move a piece's bytes
    const bool fits = in_memory_ + data.size() <= memory_limit_;
    if (fits && !pieces_.empty()) {
        auto last = std::prev(pieces_.end());
        Piece& p = last->second;
        if (last->first + p.length == offset && p.last_use == last_use && !p.spilled &&
            offset % max_piece != 0) {
            p.data.insert(p.data.end(), data.begin(), data.end());
            p.length += data.size();
            in_memory_ += data.size();
            total_ += data.size();
            peak_ = std::max(peak_, total_);
            return;
        }
    }
    Piece piece;
    piece.length = data.size();
    piece.last_use = last_use;
    if (fits) {
        // Room for the rest of its run up to the next max_piece boundary: appending
        // 256 KiB reads one by one otherwise reallocates and copies the piece again
        // (most of a megabyte per megabyte kept, a sixteenth of a restore's copying).
        const std::uint64_t room_end =
            std::min(offset / max_piece * max_piece + max_piece, std::max(planned_end, offset + data.size()));
        piece.data.reserve(static_cast<std::size_t>(room_end - offset));
        piece.data.assign(data.begin(), data.end());
        in_memory_ += data.size();
    } else {
        spill(piece, data);
    }
    const auto [it, inserted] = pieces_.emplace(offset, std::move(piece));
    if (!inserted) {
        throw io::Error(fmt::format("internal error: source piece at offset {} kept twice", offset));
    }
    by_use_.emplace(last_use, offset);
    total_ += data.size();
    peak_ = std::max(peak_, total_);
}

std::span<const std::uint8_t> SourceStash::view(std::uint64_t offset, std::uint64_t length) const
{
    auto it = pieces_.upper_bound(offset);
    if (it == pieces_.begin()) {
        return {};
    }
    --it;
    const Piece& p = it->second;
    if (p.spilled || offset + length > it->first + p.length) {
        return {};
    }
    return std::span(p.data).subspan(offset - it->first, length);
}

void SourceStash::copy_to(std::uint64_t offset, std::span<std::uint8_t> out)
{
    const std::uint64_t end = offset + out.size();
    auto it = pieces_.upper_bound(offset);
    if (it != pieces_.begin()) {
        --it;
    }
    for (; it != pieces_.end() && it->first < end; ++it) {
        const std::uint64_t p_start = it->first;
        const Piece& p = it->second;
        const std::uint64_t from = std::max(p_start, offset);
        const std::uint64_t to = std::min(p_start + p.length, end);
        if (from >= to) {
            continue;
        }
        auto dest = out.subspan(from - offset, to - from);
        if (p.spilled) {
            spill_file_.read(p.spill_offset + (from - p_start), dest);
        } else {
            std::memcpy(dest.data(), p.data.data() + (from - p_start), dest.size());
        }
    }
}

void SourceStash::release_through(std::uint64_t window)
{
    ++generation_;
    while (!by_use_.empty() && by_use_.begin()->first <= window) {
        const auto it = pieces_.find(by_use_.begin()->second);
        by_use_.erase(by_use_.begin());
        if (it == pieces_.end()) {
            continue;
        }
        total_ -= it->second.length;
        if (it->second.spilled) {
            // Pieces are released in order of last use, not in the order they were
            // spilled: without a hole the file would hold every byte ever spilled
            // until the stash is empty (6.8 GiB on disk for 4.0 GiB kept at 16 GiB).
            spill_file_.release(it->second.spill_offset, it->second.length);
            spilled_live_ -= it->second.length;
        } else {
            in_memory_ -= it->second.length;
        }
        pieces_.erase(it);
    }
    if (pieces_.empty()) {
        spill_file_.clear();  // nothing spilled is needed any more: give the space back
    }
}

}  // namespace pvediff::engine
