// SPDX-License-Identifier: GPL-2.0-or-later
#include "fine_match.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>

namespace pvediff::engine::detail {

namespace {
// Base positions are sampled every `stride` bytes, so any common run of at least
// min_match + stride - 1 bytes is found.
constexpr std::size_t stride = 8;
// After a copy, its own continuation is tried first for this many target bytes.
constexpr std::size_t max_follow_gap = 4096;
// A match found elsewhere yields to the continuation resuming this few bytes later.
constexpr std::size_t max_follow_delay = 16;

// Polynomial rolling hash of a min_match-byte window (mod 2^64), so the scan costs a
// multiply and two adds per byte instead of a hash of the whole window.
constexpr std::uint64_t multiplier = 0x100000001B3ULL;
constexpr std::uint64_t power_of(std::size_t n)
{
    std::uint64_t v = 1;
    for (std::size_t i = 0; i < n; ++i) {
        v *= multiplier;
    }
    return v;
}
constexpr std::uint64_t out_factor = power_of(FineMatcher::min_match);

std::uint64_t window_hash(const std::uint8_t* p)
{
    std::uint64_t h = 0;
    for (std::size_t i = 0; i < FineMatcher::min_match; ++i) {
        h = h * multiplier + p[i] + 1;
    }
    return h;
}
std::uint64_t roll(std::uint64_t h, std::uint8_t out, std::uint8_t in)
{
    return h * multiplier + (in + 1U) - (out + 1U) * out_factor;
}
}  // namespace

void FineMatcher::add_base(std::span<const std::uint8_t> bytes, std::uint64_t full_offset)
{
    if (bytes.size() < min_match) {
        return;
    }
    pieces_.push_back({base_.size(), base_.size() + bytes.size(), full_offset});
    base_.insert(base_.end(), bytes.begin(), bytes.end());
}

namespace {
// Literal bytes, told to the proof too when there is one.
void write_literal(VcdiffWriter& writer, CopyProof* proof, std::span<const std::uint8_t> bytes)
{
    writer.add(bytes);
    if (proof != nullptr) {
        proof->literal(bytes);
    }
}

// A copy of base bytes equal to `target`. With a proof, each piece goes whole into one
// window (its Adler-32 is the proof's) and is recorded with the hash of both sides.
void write_copy(VcdiffWriter& writer, CopyProof* proof, std::uint64_t full_offset,
                std::span<const std::uint8_t> target, std::span<const std::uint8_t> base)
{
    if (proof == nullptr) {
        writer.copy(full_offset, target);
        return;
    }
    const std::uint64_t most = writer.max_summed_copy();
    for (std::size_t at = 0; at < target.size();) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(most, target.size() - at));
        const auto t = target.subspan(at, n);
        const auto adler = static_cast<std::uint32_t>(adler32_z(1, t.data(), t.size()));
        writer.copy_summed(full_offset + at, n, adler);
        proof->copy_seen(full_offset + at, t, base.subspan(at, n), adler);
        at += n;
    }
}
}  // namespace

void FineMatcher::encode(std::span<const std::uint8_t> target, VcdiffWriter& writer, CopyProof* proof)
{
    const std::span<const std::uint8_t> base(base_);
    if (base.size() < min_match || target.size() < min_match || base.size() > UINT32_MAX) {
        write_literal(writer, proof, target);
        base_.clear();
        pieces_.clear();
        return;
    }
    const std::size_t samples = (base.size() - min_match) / stride + 1;
    const std::size_t slots = std::bit_ceil(samples * 2);
    const int shift = 64 - std::countr_zero(slots);
    keys_.assign(slots, 0);
    positions_.assign(slots, 0);
    const auto slot_of = [shift](std::uint64_t h) {
        return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ULL) >> shift);
    };
    // A slot keeps 32 bits of the hash (0 = empty): the table costs 8 bytes per
    // sample, not 12, and a match is checked byte by byte anyway.
    const auto tag_of = [](std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32) | 1U; };
    const std::size_t mask = slots - 1;
    for (const Piece& piece : pieces_) {
        if (piece.end - piece.begin < min_match) {
            continue;
        }
        std::uint64_t h = window_hash(base.data() + piece.begin);
        for (std::size_t p = piece.begin;; ++p) {
            if ((p - piece.begin) % stride == 0) {
                const std::uint32_t k = tag_of(h);
                for (std::size_t i = slot_of(h);; i = (i + 1) & mask) {
                    if (keys_[i] == 0) {
                        keys_[i] = k;
                        positions_[i] = static_cast<std::uint32_t>(p);
                        break;
                    }
                    if (keys_[i] == k) {
                        break;  // keep the first occurrence
                    }
                }
            }
            if (p + min_match >= piece.end) {
                break;
            }
            h = roll(h, base[p], base[p + min_match]);
        }
    }

    std::size_t literal_from = 0;
    std::size_t p = 0;
    std::uint64_t h = window_hash(target.data());
    bool h_valid = true;
    // Where the last copy would go on: base position follow_q for target position
    // follow_p, in follow_piece (null before the first copy).
    const Piece* follow_piece = nullptr;
    std::size_t follow_p = 0;
    std::size_t follow_q = 0;
    // The base position at which the last copy's continuation holds target[tp, +min_match), if any.
    const auto continuation = [&](std::size_t tp) -> std::optional<std::size_t> {
        if (follow_piece == nullptr || tp - follow_p > max_follow_gap || tp + min_match > target.size()) {
            return std::nullopt;
        }
        const std::size_t fq = follow_q + (tp - follow_p);
        if (fq + min_match > follow_piece->end ||
            std::memcmp(base.data() + fq, target.data() + tp, min_match) != 0) {
            return std::nullopt;
        }
        return fq;
    };
    // Extends a match backwards into the pending literal, then forwards, within the
    // piece; returns its length.
    const auto extend = [&](std::size_t& tp, std::size_t& bq, const Piece& in) {
        while (tp > literal_from && bq > in.begin && target[tp - 1] == base[bq - 1]) {
            --tp;
            --bq;
        }
        std::size_t n = min_match;
        while (tp + n < target.size() && bq + n < in.end && target[tp + n] == base[bq + n]) {
            ++n;
        }
        return n;
    };
    while (p + min_match <= target.size()) {
        std::size_t q = SIZE_MAX;
        const Piece* found = nullptr;
        // A few changed bytes (a tar header's new mtime, a rewritten field) and the
        // old bytes usually resume where the last copy would have gone on: that place
        // comes first, before the table's first occurrence of the same content (often
        // another file's header far away). One more copy on the same diagonal, which
        // VCDIFF's address cache encodes in a byte or two.
        if (const auto fq = continuation(p)) {
            q = *fq;
            found = follow_piece;
        }
        if (found == nullptr) {
            if (!h_valid) {
                h = window_hash(target.data() + p);
                h_valid = true;
            }
            const std::uint32_t k = tag_of(h);
            for (std::size_t i = slot_of(h); keys_[i] != 0; i = (i + 1) & mask) {
                if (keys_[i] == k) {
                    q = positions_[i];
                    break;
                }
            }
            if (q == SIZE_MAX || std::memcmp(base.data() + q, target.data() + p, min_match) != 0) {
                if (p + min_match < target.size()) {
                    h = roll(h, target[p], target[p + min_match]);
                }
                ++p;
                continue;
            }
            found = &*std::find_if(pieces_.begin(), pieces_.end(),
                                   [q](const Piece& x) { return q >= x.begin && q < x.end; });
            if (q + min_match > found->end) {
                ++p;  // cannot happen (windows are sampled inside pieces); be safe
                continue;
            }
        }
        h_valid = false;
        std::size_t len = extend(p, q, *found);
        if (found != follow_piece || q + follow_p != follow_q + p) {
            // A match elsewhere; the continuation may resume a few bytes later (the
            // rest of a changed checksum field) and reach further: then it wins.
            for (std::size_t k = 1; k <= max_follow_delay && follow_piece != nullptr; ++k) {
                std::size_t fp = p + k;
                const auto resumed = continuation(fp);
                if (!resumed) {
                    continue;
                }
                std::size_t fq = *resumed;
                const std::size_t flen = extend(fp, fq, *follow_piece);
                if (fp + flen > p + len) {
                    p = fp;
                    q = fq;
                    len = flen;
                    found = follow_piece;
                }
                break;
            }
        }
        const Piece& piece = *found;
        if (p > literal_from) {
            write_literal(writer, proof, target.subspan(literal_from, p - literal_from));
        }
        write_copy(writer, proof, piece.full_offset + (q - piece.begin), target.subspan(p, len),
                   base.subspan(q, len));
        p += len;
        literal_from = p;
        follow_piece = &piece;
        follow_p = p;
        follow_q = q + len;
    }
    if (literal_from < target.size()) {
        write_literal(writer, proof, target.subspan(literal_from));
    }
    base_.clear();
    pieces_.clear();
}

}  // namespace pvediff::engine::detail
