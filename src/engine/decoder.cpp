// SPDX-License-Identifier: GPL-2.0-or-later
// engine::decode(): rebuilds a target from the full and a VCDIFF stream with xdelta3's
// decoder, reading the full exactly once, front to back.
//
// Pass 1 scans the delta (vcdiff_scan) for the source ranges each window's COPY
// instructions read, and plans for every byte of the full the last window that reads
// it (disjoint pieces; memory grows with the number of pieces, not with the full).
// Pass 2 decodes: when xdelta3 asks for a source block, the full is read forward as far
// as the current window needs in that block; planned bytes passed on the way are kept
// in the stash until their last window is done, all others are dropped. The block
// handed to xdelta3 holds the right bytes wherever the window copies from; xdelta3
// copies only those. A full written in frames (DecodeOptions::framed) is also read by
// random access: where reading forward to a block would keep aside more than the
// memory limit on the way, the block comes from the frames that hold it, and the
// forward read stays where it is.
#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "pvediff/engine/delta.h"
#include "pvediff/engine/vcdiff_scan.h"
#include "pvediff/io/error.h"
#include "source_frames.h"
#include "source_stash.h"
#include "xd3_stream.h"

namespace pvediff::engine {

namespace {

constexpr std::uint64_t base_block_size = std::uint64_t{64} * 1024;
// The window indicator bit of xdelta3's extension to VCDIFF (RFC 3284): the window
// carries the Adler-32 of its target (xdelta3.c's VCD_ADLER32, not in its header).
constexpr usize_t vcd_adler32 = 1U << 2;
// Ranges of one window this close together are planned as one: a few bytes kept
// needlessly against fewer pieces to track.
constexpr std::uint64_t merge_gap = 4096;
// Pieces read by different windows are joined up to this size (see finish()).
constexpr std::uint64_t max_mixed_piece = std::uint64_t{64} * 1024;
// The most pieces the plan holds while it is built (about 64 bytes each in the map):
// past it, neighbours are joined across ever larger gaps, whatever window reads them.
// A real delta stays far below (about one piece per reordered run of clusters); a
// crafted one of many small copies far apart would otherwise grow the plan without
// limit (half a million 16-byte copies per window, 60 windows: 2.6 GB).
constexpr std::size_t max_plan_pieces = std::size_t{1} << 19;

struct PlanPiece {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t last_window = 0;
};

// For each byte of the full, the last window that reads it. Windows arrive in
// increasing order, so a window's ranges simply overwrite what was planned before.
class PlanBuilder {
public:
    void assign(std::uint64_t a, std::uint64_t b, std::uint64_t w)
    {
        if (a >= b) {
            return;
        }
        // Cut a piece that starts before a and reaches into [a, b).
        auto it = pieces_.lower_bound(a);
        if (it != pieces_.begin()) {
            auto p = std::prev(it);
            if (p->second.end > a) {
                const Value old = p->second;
                p->second.end = a;
                if (old.end > b) {
                    pieces_.emplace(b, old);
                }
            }
        }
        // Remove pieces starting in [a, b), keeping the tail of one that reaches past b.
        it = pieces_.lower_bound(a);
        while (it != pieces_.end() && it->first < b) {
            if (it->second.end > b) {
                const Value rest = it->second;
                pieces_.erase(it);
                pieces_.emplace(b, rest);
                break;
            }
            it = pieces_.erase(it);
        }
        // Join with neighbours of the same window across small free gaps.
        std::uint64_t start = a;
        std::uint64_t end = b;
        it = pieces_.lower_bound(a);
        if (it != pieces_.begin()) {
            auto p = std::prev(it);
            if (p->second.window == w && p->second.end + merge_gap >= a) {
                start = p->first;
                pieces_.erase(p);
            }
        }
        it = pieces_.lower_bound(b);
        if (it != pieces_.end() && it->second.window == w && it->first <= b + merge_gap) {
            end = std::max(end, it->second.end);
            pieces_.erase(it);
        }
        pieces_.emplace(start, Value{end, w});
        if (pieces_.size() > max_plan_pieces) {
            coarsen();
        }
    }

    std::vector<PlanPiece> finish()
    {
        std::vector<PlanPiece> out;
        out.reserve(pieces_.size());
        for (const auto& [start, v] : pieces_) {
            // Neighbours closer than merge_gap become one piece, kept until the later of
            // their last windows, when that costs little: matchers that copy many small
            // strings from all over (xdelta3 on tar) would otherwise leave thousands of
            // tiny pieces per block. Large neighbours read by different windows stay
            // apart: reordered VMA clusters lie side by side in the full, and joining
            // them would keep most of the full aside until the last window.
            if (!out.empty() && start <= out.back().end + merge_gap &&
                (out.back().last_window == v.window || v.end - out.back().start <= max_mixed_piece)) {
                out.back().end = v.end;
                out.back().last_window = std::max(out.back().last_window, v.window);
            } else {
                out.push_back({start, v.end, v.window});
            }
        }
        pieces_.clear();
        return out;
    }

private:
    // Joins neighbours closer than a gap that doubles until the plan is half its
    // limit. A joined piece is kept until the later of its windows: more of the full
    // kept aside (in the spill file past the memory limit), never a byte missing.
    // Windows arrive in increasing order, so later assignments still override it.
    void coarsen()
    {
        while (pieces_.size() > max_plan_pieces / 2) {
            coarse_gap_ = coarse_gap_ == 0 ? 2 * merge_gap : 2 * coarse_gap_;
            for (auto it = pieces_.begin(); it != pieces_.end();) {
                const auto next = std::next(it);
                if (next != pieces_.end() && next->first - it->second.end <= coarse_gap_) {
                    it->second.end = next->second.end;
                    it->second.window = std::max(it->second.window, next->second.window);
                    pieces_.erase(next);
                } else {
                    it = next;
                }
            }
        }
    }

    struct Value {
        std::uint64_t end;
        std::uint64_t window;
    };
    std::map<std::uint64_t, Value> pieces_;
    std::uint64_t coarse_gap_ = 0;
};

struct Plan {
    std::vector<PlanPiece> pieces;
    std::uint64_t windows = 0;
    std::uint64_t target_bytes = 0;
    std::uint64_t added_bytes = 0;
};

Plan make_plan(const DeltaOpener& open_delta, const DecodeOptions& options)
{
    PlanBuilder builder;
    const auto delta = open_delta();
    const ScanSummary summary = scan_vcdiff(*delta, [&](const ScannedWindow& w) {
        for (const SourceRange& r : w.ranges) {
            // Refused before planning anything for it: a copy from beyond the full.
            if (options.source_size && r.offset + r.length > *options.source_size) {
                io::throw_parse_error(
                    delta->name(), w.delta_offset,
                    fmt::format("window {} copies the full's bytes {}..{}, but the full has only {} "
                                "bytes (corrupt or crafted delta)",
                                w.index, r.offset, r.offset + r.length, *options.source_size));
            }
            builder.assign(r.offset, r.offset + r.length, w.index);
        }
    });
    if (options.max_target_bytes && summary.target_bytes > *options.max_target_bytes) {
        throw io::file_error(delta->name(),
                             "its windows make {} bytes, more than the {} bytes of the archive it stands for "
                             "(corrupt or crafted delta); nothing written",
                             summary.target_bytes, *options.max_target_bytes);
    }
    return {builder.finish(), summary.windows, summary.target_bytes, summary.added_bytes};
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

// Serves xdelta3's block requests from the full read forward and the stash.
class SourceServer {
public:
    SourceServer(io::ByteSource& base, const std::vector<PlanPiece>& plan, SourceStash& stash,
                 std::string delta_name, detail::SourceFrames* frames, std::uint64_t far_bytes)
        : base_(base),
          plan_(plan),
          stash_(stash),
          delta_name_(std::move(delta_name)),
          read_buf_(std::size_t{256} * 1024),
          frames_(frames),
          far_bytes_(far_bytes)
    {
        for (CachedBlock& c : cache_) {
            c.data.resize(base_block_size);
        }
        if (frames_ != nullptr) {
            planned_before_.reserve(plan_.size() + 1);
            planned_before_.push_back(0);
            for (const PlanPiece& p : plan_) {
                planned_before_.push_back(planned_before_.back() + (p.end - p.start));
            }
        }
    }

    void serve(xd3_source& source, std::uint64_t blkno, std::uint64_t window)
    {
        ++clock_;
        CachedBlock* slot = &cache_[0];
        for (CachedBlock& c : cache_) {
            if (c.valid && c.blkno == blkno && c.window == window &&
                (c.view == nullptr || c.generation == stash_.generation())) {
                c.used = clock_;
                hand_over(source, c);
                return;
            }
            if (c.used < slot->used) {
                slot = &c;
            }
        }
        assemble(*slot, blkno, window);
        hand_over(source, *slot);
    }

    [[nodiscard]] std::uint64_t bytes_read() const { return base_pos_; }

    // Reads the full `bytes` further than needed so far (keeping what the plan says);
    // false when it has ended.
    bool read_further(std::uint64_t bytes, std::uint64_t window)
    {
        if (eof_) {
            return false;
        }
        read_forward(saturating_add(base_pos_, bytes), window);
        return true;
    }

private:
    // A block as the current window sees it. Windows whose copies alternate between
    // a few blocks get them again from here instead of from the stash.
    struct CachedBlock {
        std::vector<std::uint8_t> data;
        const std::uint8_t* view = nullptr;  // into the stash instead of `data`
        std::uint64_t generation = 0;        // of the stash when `view` was taken
        std::uint64_t blkno = 0;
        std::uint64_t window = 0;
        std::uint64_t used = 0;
        bool valid = false;
    };

    static void hand_over(xd3_source& source, const CachedBlock& c)
    {
        source.curblkno = c.blkno;
        source.curblk = c.view != nullptr ? c.view : c.data.data();
        // Always a whole block: xdelta3 then checks nothing against the full's length,
        // which assemble() has done.
        source.onblk = static_cast<usize_t>(base_block_size);
    }

    void assemble(CachedBlock& slot, std::uint64_t blkno, std::uint64_t window)
    {
        slot.valid = false;
        const std::uint64_t start = blkno * base_block_size;
        const std::uint64_t end = start + base_block_size;
        // What this and later windows read in this block; all of the current window's
        // reads in it are among these.
        std::uint64_t need_end = 0;
        auto it = std::lower_bound(plan_.begin(), plan_.end(), start,
                                   [](const PlanPiece& p, std::uint64_t s) { return p.end <= s; });
        for (; it != plan_.end() && it->start < end; ++it) {
            if (it->last_window >= window) {
                need_end = std::max(need_end, std::min(it->end, end));
            }
        }
        if (need_end == 0) {
            throw io::file_error(
                delta_name_,
                "window {} reads the full at offset {}, which its instructions do not announce "
                "(corrupt delta)",
                window, start);
        }
        const auto full_too_short = [&](std::uint64_t have) {
            return io::file_error(delta_name_,
                                  "window {} reads the full up to offset {}, but '{}' has only {} bytes "
                                  "(wrong full or corrupt delta)",
                                  window, need_end, base_.name(), have);
        };
        if (frames_ != nullptr && !frames_->wasteful() && need_end > base_pos_ &&
            planned_between(base_pos_, need_end) > far_bytes_) {
            // Far ahead: from the frames; the forward read stays where it is.
            if (need_end > frames_->content_size()) {
                throw full_too_short(frames_->content_size());
            }
            frames_->copy_to(start, std::span(slot.data).first(need_end - start));
            slot.view = nullptr;
        } else {
            read_forward(need_end, window);
            if (base_pos_ < need_end) {
                throw full_too_short(base_pos_);
            }
            if (const auto view = stash_.view(start, base_block_size); !view.empty()) {
                // One kept piece holds the whole block: hand it over without copying.
                slot.view = view.data();
                slot.generation = stash_.generation();
            } else {
                slot.view = nullptr;
                stash_.copy_to(start, slot.data);
            }
        }
        slot.blkno = blkno;
        slot.window = window;
        slot.used = clock_;
        slot.valid = true;
    }

    // The planned bytes in [a, b): what reading the full forward from a to b would keep
    // aside, at most (pieces whose windows are done are counted too).
    [[nodiscard]] std::uint64_t planned_between(std::uint64_t a, std::uint64_t b) const
    {
        const auto first = std::lower_bound(plan_.begin(), plan_.end(), a,
                                            [](const PlanPiece& p, std::uint64_t s) { return p.end <= s; });
        const auto last = std::lower_bound(first, plan_.end(), b,
                                           [](const PlanPiece& p, std::uint64_t s) { return p.start < s; });
        if (first >= last) {
            return 0;
        }
        std::uint64_t n = planned_before_[static_cast<std::size_t>(last - plan_.begin())] -
                          planned_before_[static_cast<std::size_t>(first - plan_.begin())];
        n -= std::min(n, a > first->start ? a - first->start : 0);
        const PlanPiece& back = *std::prev(last);
        n -= std::min(n, back.end > b ? back.end - b : 0);
        return n;
    }

    void read_forward(std::uint64_t until, std::uint64_t window)
    {
        // Whole blocks, so that kept pieces tend to cover whole blocks (see view()).
        until = (until + base_block_size - 1) / base_block_size * base_block_size;
        while (base_pos_ < until && !eof_) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(read_buf_.size(), until - base_pos_));
            const std::size_t got = io::read_full(base_, std::span(read_buf_).first(want));
            eof_ = got < want;
            keep_planned(std::span(read_buf_).first(got), window);
            base_pos_ += got;
        }
    }

    void keep_planned(std::span<const std::uint8_t> data, std::uint64_t window)
    {
        const std::uint64_t from = base_pos_;
        const std::uint64_t to = base_pos_ + data.size();
        while (next_ < plan_.size() && plan_[next_].end <= from) {
            ++next_;
        }
        for (std::size_t i = next_; i < plan_.size() && plan_[i].start < to; ++i) {
            const PlanPiece& p = plan_[i];
            if (p.last_window < window) {
                continue;  // its windows are done (never read: nothing needed it)
            }
            const std::uint64_t a = std::max(p.start, from);
            const std::uint64_t b = std::min(p.end, to);
            if (a < b) {
                stash_.put(a, data.subspan(a - from, b - a), p.last_window, p.end);
            }
        }
    }

    io::ByteSource& base_;
    const std::vector<PlanPiece>& plan_;
    SourceStash& stash_;
    std::string delta_name_;
    std::vector<std::uint8_t> read_buf_;
    std::array<CachedBlock, 8> cache_;
    std::uint64_t clock_ = 0;
    std::uint64_t base_pos_ = 0;
    std::size_t next_ = 0;
    bool eof_ = false;
    detail::SourceFrames* frames_;
    std::uint64_t far_bytes_;
    std::vector<std::uint64_t> planned_before_;  // planned bytes of the pieces before each
};

}  // namespace

DecodeResult decode(io::ByteSource& base, const DeltaOpener& open_delta, io::ByteSink& out,
                    const DecodeOptions& options)
{
    const Plan plan = make_plan(open_delta, options);

    const auto delta = open_delta();
    SourceStash stash(options.spill_dir, options.memory_limit, options.fallback_spill_dir);
    std::optional<detail::SourceFrames> frames;
    if (options.framed) {
        frames.emplace(*options.framed, base.name(), options.frame_waste_tolerated);
    }
    SourceServer server(base, plan.pieces, stash, delta->name(), frames ? &*frames : nullptr,
                        options.memory_limit);

    // The windows' Adler-32 is checked here, with libdeflate's vectorised adler32, not
    // by xdelta3's byte loop: that was 15 % of a restore's CPU and a quarter of a
    // patch's, on this thread; now ~2 %. So every window is checked before it is
    // written, even where the output's SHA-256 is compared with a manifest at the end.
    detail::Xd3StreamSettings settings;
    settings.flags = XD3_ADLER32_NOVER;
    detail::Xd3Stream holder("decoder", settings);
    xd3_stream* stream = holder.get();
    xd3_source source{};
    source.blksize = static_cast<usize_t>(base_block_size);
    source.name = base.name().c_str();
    source.max_winsize = base_block_size;
    source.curblkno = static_cast<xoff_t>(-1);
    source.curblk = nullptr;
    if (xd3_set_source(stream, &source) != 0) {
        throw io::Error("xdelta3: cannot set the source");
    }

    std::vector<std::uint8_t> in(std::size_t{256} * 1024);
    DecodeResult result;
    std::uint64_t window = 0;
    // Called before the output grows to `after` bytes.
    const auto check_target_bound = [&](std::uint64_t after, std::uint64_t window_now) {
        if (options.max_target_bytes) {
            if (after > *options.max_target_bytes) {
                throw io::file_error(delta->name(),
                                     "window {} goes beyond the {} bytes of the archive it stands for "
                                     "(corrupt or crafted delta)",
                                     window_now, *options.max_target_bytes);
            }
            return;
        }
        // Copies and runs may make at most unknown_target_copy_ratio times the full:
        // read the full further (its real size, not what the delta claims) to allow more.
        const auto allowance = [&] {
            return saturating_add(saturating_add(plan.added_bytes, unknown_target_slack),
                                  saturating_mul(unknown_target_copy_ratio, server.bytes_read()));
        };
        while (after > allowance()) {
            if (!server.read_further(std::uint64_t{64} << 20, window_now)) {
                throw io::file_error(
                    delta->name(),
                    "window {} would make the rebuilt archive larger than {} bytes: more than {} "
                    "times the full '{}' ({} bytes) plus 4 GiB plus its literal data; refusing it "
                    "without a manifest that records the archive's size (corrupt or crafted delta)",
                    window_now, allowance(), unknown_target_copy_ratio, base.name(), server.bytes_read());
            }
        }
    };
    bool eof = false;
    while (!eof) {
        const std::size_t n = io::read_full(*delta, in);
        if (n < in.size()) {
            eof = true;
            xd3_set_flags(stream, stream->flags | XD3_FLUSH);
        }
        xd3_avail_input(stream, in.data(), static_cast<usize_t>(n));
        for (bool more = true; more;) {
            const int ret = xd3_decode_input(stream);
            switch (ret) {
                case XD3_INPUT:
                    more = false;
                    break;
                case XD3_OUTPUT:
                    check_target_bound(result.target_bytes + stream->avail_out, window);
                    // A window's whole target comes out at once, before it is written.
                    if ((stream->dec_win_ind & vcd_adler32) != 0 &&
                        libdeflate_adler32(1, stream->next_out, stream->avail_out) != stream->dec_adler32) {
                        throw io::file_error(
                            delta->name(),
                            "cannot decode window {}: target window checksum mismatch (wrong "
                            "full or corrupt delta)",
                            window);
                    }
                    out.write(std::span<const std::uint8_t>(stream->next_out, stream->avail_out));
                    result.target_bytes += stream->avail_out;
                    xd3_consume_output(stream);
                    break;
                case XD3_GETSRCBLK:
                    server.serve(source, source.getblkno, window);
                    break;
                case XD3_GOTHEADER:
                case XD3_WINSTART:
                    if (window >= plan.windows) {
                        throw io::file_error(delta->name(), "more windows than when it was scanned");
                    }
                    break;
                case XD3_WINFINISH:
                    stash.release_through(window);
                    // xdelta3 reuses a block without asking while its number repeats; the
                    // next window may need bytes of it that were not kept for this one.
                    source.curblk = nullptr;
                    ++window;
                    break;
                default:
                    throw io::file_error(delta->name(),
                                         "cannot decode window {}: {} (wrong full or corrupt delta)", window,
                                         stream->msg ? stream->msg : xd3_strerror(ret));
            }
        }
    }
    if (const int ret = xd3_close_stream(stream); ret != 0) {
        throw io::file_error(delta->name(), "truncated delta: {}",
                             stream->msg ? stream->msg : xd3_strerror(ret));
    }
    if (window != plan.windows) {
        throw io::file_error(delta->name(), "truncated delta: decoded {} of {} windows", window,
                             plan.windows);
    }
    result.windows = window;
    result.base_bytes_read = server.bytes_read();
    result.kept_aside_peak = stash.peak_bytes();
    result.spilled_bytes = stash.spilled_bytes();
    result.spilled_peak = stash.spilled_peak_bytes();
    result.plan_pieces = plan.pieces.size();
    if (frames) {
        result.frames_read = frames->frames_read();
        result.frame_bytes_read = frames->bytes_read();
        result.frames_given_up = frames->wasteful();
        result.frame_content_decompressed = frames->content_decompressed();
        result.frame_content_given = frames->content_given();
    }
    return result;
}

}  // namespace pvediff::engine
