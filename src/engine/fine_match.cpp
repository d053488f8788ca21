// SPDX-License-Identifier: GPL-2.0-or-later
#include "fine_match.h"

#include <libdeflate.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace pvediff::engine::detail {

namespace {
// Base positions are sampled every `stride` bytes, so any common run of at least
// min_match + stride - 1 bytes is found.
constexpr std::size_t stride = 8;
// After a copy, its own continuation is tried first for this many target bytes.
constexpr std::size_t max_follow_gap = 4096;
// A match found elsewhere yields to the continuation resuming this few bytes later.
constexpr std::size_t max_follow_delay = 16;
// Runs of one byte value remembered by the bytes that follow them, at most.
constexpr std::size_t max_runs_before = std::size_t{1} << 16;
// A table larger than this is given back after its region.
// Hashes computed, and their slots prefetched, this many samples or positions ahead.
constexpr std::size_t ahead = 16;
constexpr std::size_t kept_table_bytes = std::size_t{8} << 20;

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

// The same hash of a window at a multiple of 8 bytes, from its four 8-byte blocks:
// window_hash = A0 * M^24 + A1 * M^16 + A2 * M^8 + A3 (mod 2^64), with each block's
// A = sum of (byte + 1) * M^(7 - j), read from one table per byte position.
static_assert(FineMatcher::min_match == 32 && stride == 8,
              "the block form assumes 4 blocks of a stride each");
constexpr std::array<std::array<std::uint64_t, 256>, stride> make_block_tables()
{
    std::array<std::array<std::uint64_t, 256>, stride> t{};
    for (std::size_t j = 0; j < stride; ++j) {
        for (std::size_t v = 0; v < 256; ++v) {
            t[j][v] = (v + 1) * power_of(stride - 1 - j);
        }
    }
    return t;
}
constexpr auto block_tables = make_block_tables();
constexpr std::array<std::uint64_t, 3> block_factors = {power_of(24), power_of(16), power_of(8)};
std::uint64_t block_hash(const std::uint8_t* p)
{
    return block_tables[0][p[0]] + block_tables[1][p[1]] + block_tables[2][p[2]] + block_tables[3][p[3]] +
           block_tables[4][p[4]] + block_tables[5][p[5]] + block_tables[6][p[6]] + block_tables[7][p[7]];
}
// Whether the min_match bytes at p are all the same value (the first compares reject
// most windows at once).
bool uniform(const std::uint8_t* p)
{
    return p[0] == p[FineMatcher::min_match - 1] && p[0] == p[FineMatcher::min_match / 2] &&
           std::memcmp(p, p + 1, FineMatcher::min_match - 1) == 0;
}

// A run of one byte value in the pieces.
struct Run {
    std::size_t at = 0;  // in base, where it begins
    std::size_t length = 0;
    const FineMatchJob::Piece* piece = nullptr;
};

// The `length` bytes of value v just before the copy that follows the region, if a
// piece holds them (else a run of length 0).
Run run_before(const FineMatchJob& job, std::uint8_t v, std::size_t length)
{
    if (!job.next_copy_at || *job.next_copy_at < length) {
        return {};
    }
    const std::uint64_t from = *job.next_copy_at - length;
    for (const FineMatchJob::Piece& piece : job.pieces) {
        if (from >= piece.full_offset && *job.next_copy_at <= piece.full_offset + (piece.end - piece.begin)) {
            const std::size_t at = piece.begin + static_cast<std::size_t>(from - piece.full_offset);
            const auto* b = job.base.data() + at;
            if (length >= FineMatcher::min_match && b[0] == v && std::memcmp(b, b + 1, length - 1) == 0) {
                return {at, length, &piece};
            }
        }
    }
    return {};
}

}  // namespace

void FineMatchJob::add_base(std::span<const std::uint8_t> bytes, std::uint64_t full_offset)
{
    if (bytes.size() < FineMatcher::min_match) {
        return;
    }
    pieces.push_back({base.size(), base.size() + bytes.size(), full_offset});
    base.insert(base.end(), bytes.begin(), bytes.end());
}

FineMatcher::SlotTable::~SlotTable()
{
    release();
}

void FineMatcher::SlotTable::release()
{
    if (slots_ != nullptr) {
        munmap(slots_, bytes_);
        slots_ = nullptr;
        bytes_ = 0;
    }
}

void FineMatcher::SlotTable::reset(std::size_t n)
{
    const std::size_t want = n * sizeof(Slot);
    if (want <= bytes_) {
        std::memset(static_cast<void*>(slots_), 0, want);
        return;
    }
    release();
    void* p = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {  // NOLINT: the macro's cast
        throw std::bad_alloc();
    }
    slots_ = static_cast<Slot*>(p);  // zeroed by the kernel
    bytes_ = want;
}

void FineMatcher::add_base(std::span<const std::uint8_t> bytes, std::uint64_t full_offset)
{
    single_.add_base(bytes, full_offset);
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
        const std::uint32_t adler = libdeflate_adler32(1, t.data(), t.size());
        writer.copy_summed(full_offset + at, n, adler);
        proof->copy_seen(full_offset + at, t, base.subspan(at, n), adler);
        at += n;
    }
}
}  // namespace

void match_in_place(FineMatchJob& job, std::size_t min_copy)
{
    if (job.pieces.size() != 1 || job.pieces.front().begin != 0) {
        throw std::logic_error("match_in_place: one base piece expected");
    }
    const std::size_t n = std::min(job.target.size(), job.base.size());
    std::size_t literal_from = 0;
    for (std::size_t at = 0; at < n;) {
        std::size_t end = at;
        while (end < n && job.target[end] == job.base[end]) {
            ++end;
        }
        if (end - at >= min_copy) {
            if (literal_from < at) {
                job.instructions.push_back({literal_from, at - literal_from, false, 0, 0});
            }
            job.instructions.push_back({at, end - at, true, at, job.pieces.front().full_offset + at});
            literal_from = end;
        }
        at = end == at ? at + 1 : end;
    }
    if (literal_from < job.target.size()) {
        job.instructions.push_back({literal_from, job.target.size() - literal_from, false, 0, 0});
    }
}

void FineMatcher::encode(std::span<const std::uint8_t> target, VcdiffWriter& writer, CopyProof* proof)
{
    single_.target.assign(target.begin(), target.end());
    match(single_);
    write_matched(single_, writer, proof);
    single_ = {};
}

void write_matched(const FineMatchJob& job, VcdiffWriter& writer, CopyProof* proof)
{
    const std::span<const std::uint8_t> target(job.target);
    const std::span<const std::uint8_t> base(job.base);
    for (const FineMatchJob::Instruction& in : job.instructions) {
        const auto bytes = target.subspan(in.target_at, in.length);
        if (in.copy) {
            write_copy(writer, proof, in.full_offset, bytes, base.subspan(in.base_at, in.length));
        } else {
            write_literal(writer, proof, bytes);
        }
    }
}

void FineMatcher::match(FineMatchJob& job)
{
    const std::span<const std::uint8_t> target(job.target);
    const std::span<const std::uint8_t> base(job.base);
    using Piece = FineMatchJob::Piece;
    const std::vector<Piece>& pieces = job.pieces;
    job.instructions.clear();
    const auto literal = [&](std::size_t from, std::size_t length) {
        job.instructions.push_back({from, length, false, 0, 0});
    };
    if (base.size() < min_match || target.size() < min_match || base.size() > UINT32_MAX) {
        literal(0, target.size());
        return;
    }
    const std::size_t samples = (base.size() - min_match) / stride + 1;
    const std::size_t slots = std::bit_ceil(samples * 2);
    const int shift = 64 - std::countr_zero(slots);
    slots_.reset(slots);
    const auto slot_of = [shift](std::uint64_t h) {
        return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ULL) >> shift);
    };
    // A slot keeps 32 bits of the hash (0 = empty): the table costs 8 bytes per
    // sample, not 12, and a match is checked byte by byte anyway.
    const auto tag_of = [](std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32) | 1U; };
    const std::size_t mask = slots - 1;
    // Tables of large regions do not fit in the caches: a slot is prefetched when its
    // sample's hash is known and filled `ahead` samples later, in the same order.
    std::array<std::pair<std::uint64_t, std::size_t>, ahead> queued{};  // (hash, position)
    std::size_t queued_count = 0;
    const auto insert = [&](std::uint64_t h, std::size_t p) {
        const std::uint32_t k = tag_of(h);
        for (std::size_t i = slot_of(h);; i = (i + 1) & mask) {
            if (slots_[i].key == 0) {
                slots_[i] = Slot{k, static_cast<std::uint32_t>(p)};
                return;
            }
            if (slots_[i].key == k) {
                return;  // keep the first occurrence
            }
        }
    };
    // Runs of one byte value (zeros above all) hash alike wherever they are, and the
    // table keeps the first: a long run of the target copied from a short one comes
    // out as many short copies of the same bytes (a shuffled block that starts with
    // zeros: 38 copies of 348 bytes). So the longest run of each value is kept aside.
    std::array<Run, 256> longest_run{};
    // And each run by the bytes that follow it: a target run followed by the same
    // bytes is likely that one (the block's own place: one copy on its diagonal).
    std::unordered_map<std::uint64_t, Run> runs_before;
    for (const Piece& piece : pieces) {
        if (piece.end - piece.begin < min_match) {
            continue;
        }
        for (std::size_t at = piece.begin, run_end = piece.begin; at + min_match <= piece.end; at += stride) {
            if (at < run_end || !uniform(base.data() + at)) {
                continue;
            }
            const std::uint8_t v = base[at];
            std::size_t start = at;  // the sample before was not inside: a few steps
            while (start > piece.begin && base[start - 1] == v) {
                --start;
            }
            run_end = at + min_match;
            while (run_end < piece.end && base[run_end] == v) {
                ++run_end;
            }
            const Run run{start, run_end - start, &piece};
            if (run.length > longest_run[v].length) {
                longest_run[v] = run;
            }
            if (run_end + min_match <= piece.end && runs_before.size() < max_runs_before) {
                runs_before.emplace(window_hash(base.data() + run_end), run);
            }
        }
        // The samples' hashes from their four 8-byte blocks (block_hash), each block
        // summed once: no chain of multiplies through every byte as when rolling.
        const std::uint8_t* b = base.data() + piece.begin;
        std::uint64_t a0 = block_hash(b);
        std::uint64_t a1 = block_hash(b + 8);
        std::uint64_t a2 = block_hash(b + 16);
        for (std::size_t at = 0; piece.begin + at + min_match <= piece.end; at += stride) {
            const std::uint64_t a3 = block_hash(b + at + 24);
            const std::uint64_t h =
                a0 * block_factors[0] + a1 * block_factors[1] + a2 * block_factors[2] + a3;
            a0 = a1;
            a1 = a2;
            a2 = a3;
            __builtin_prefetch(&slots_[slot_of(h)], 1);
            auto& q = queued[queued_count % ahead];
            if (queued_count >= ahead) {
                insert(q.first, q.second);
            }
            q = {h, piece.begin + at};
            ++queued_count;
        }
    }
    for (std::size_t n = queued_count > ahead ? queued_count - ahead : 0; n < queued_count; ++n) {
        insert(queued[n % ahead].first, queued[n % ahead].second);
    }

    // The target's window hashes, `ahead` positions at a time, their slots prefetched.
    std::array<std::uint64_t, ahead> hashes{};
    std::size_t hashes_from = 0;
    std::size_t hashes_to = 0;    // [hashes_from, hashes_to) are in `hashes`
    std::uint64_t hash_next = 0;  // the hash at hashes_to, when it fits in the target
    const auto hash_at = [&](std::size_t tp) {
        if (tp < hashes_from || tp >= hashes_to) {
            std::uint64_t h = tp == hashes_to && tp > 0 ? hash_next : window_hash(target.data() + tp);
            std::size_t n = 0;
            for (; n < ahead && tp + n + min_match <= target.size(); ++n) {
                hashes[n] = h;
                __builtin_prefetch(&slots_[slot_of(h)]);
                if (tp + n + min_match < target.size()) {
                    h = roll(h, target[tp + n], target[tp + n + min_match]);
                }
            }
            hashes_from = tp;
            hashes_to = tp + n;
            hash_next = h;
        }
        return hashes[tp - hashes_from];
    };

    std::size_t literal_from = 0;
    std::size_t p = 0;
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
        const bool continued = found != nullptr;
        if (found == nullptr) {
            const std::uint64_t h = hash_at(p);
            const std::uint32_t k = tag_of(h);
            for (std::size_t i = slot_of(h); slots_[i].key != 0; i = (i + 1) & mask) {
                if (slots_[i].key == k) {
                    q = slots_[i].position;
                    break;
                }
            }
            if (q == SIZE_MAX || std::memcmp(base.data() + q, target.data() + p, min_match) != 0) {
                ++p;
                continue;
            }
            found = &*std::find_if(pieces.begin(), pieces.end(),
                                   [q](const Piece& x) { return q >= x.begin && q < x.end; });
            if (q + min_match > found->end) {
                ++p;  // cannot happen (windows are sampled inside pieces); be safe
                continue;
            }
        }
        const std::size_t p_found = p;
        std::size_t len = extend(p, q, *found);
        if (!continued && uniform(target.data() + p_found)) {
            // A run of the target that the match did not cover: the run followed by
            // the same bytes, else the longest one, may cover it in one copy (the
            // run's end put where the target's ends).
            // (Measured no further than the longest run: past it no run covers it.)
            const std::uint8_t v = target[p_found];
            const Run* run = &longest_run[v];
            const std::size_t limit = std::min(target.size(), p_found + run->length + 1);
            std::size_t run_end = p_found + min_match;
            while (run_end < limit && target[run_end] == v) {
                ++run_end;
            }
            const std::size_t wanted = run_end - p_found;
            // The run on the diagonal of what follows wins even over a match as long
            // (the next copy, or the fine match after it, then goes on from there).
            bool diagonal = false;
            const Run before_next = run_end == target.size() ? run_before(job, v, wanted) : Run{};
            if (wanted <= run->length && before_next.length == wanted) {
                run = &before_next;
                diagonal = true;
            } else if (wanted <= run->length && run_end + min_match <= target.size()) {
                const auto it = runs_before.find(window_hash(target.data() + run_end));
                if (it != runs_before.end() && it->second.length >= wanted && base[it->second.at] == v) {
                    run = &it->second;
                    diagonal = true;
                }
            }
            if ((diagonal || len < wanted) && run->length > 0) {
                std::size_t rp = p_found;
                std::size_t rq = run->at + (run->length >= wanted ? run->length - wanted : 0);
                const std::size_t rlen = extend(rp, rq, *run->piece);
                if (rp + rlen > p + len || (diagonal && rp + rlen == p + len)) {
                    p = rp;
                    q = rq;
                    len = rlen;
                    found = run->piece;
                }
            }
        }
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
            literal(literal_from, p - literal_from);
        }
        job.instructions.push_back({p, len, true, q, piece.full_offset + (q - piece.begin)});
        p += len;
        literal_from = p;
        follow_piece = &piece;
        follow_p = p;
        follow_q = q + len;
    }
    if (literal_from < target.size()) {
        literal(literal_from, target.size() - literal_from);
    }
    if (slots_.mapped_bytes() > kept_table_bytes) {
        // Each thread has its table: one large region's should not stay with all.
        slots_.release();
    }
}

}  // namespace pvediff::engine::detail
