// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/chunk_encoder.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "base_capture.h"
#include "block_scan.h"
#include "cluster_match.h"
#include "fine_match_pool.h"
#include "plan_store.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "pvediff/io/threaded_stream.h"
#include "pvediff/io/xxh128.h"
#include "range_check.h"
#include "range_hasher.h"
#include "record_sort.h"
#include "snippet_scan.h"
#include "spill_file.h"

namespace pvediff::engine {

namespace {

// Bytes of the full looked at around a changed region, beyond its expected extent.
constexpr std::uint64_t fine_margin = std::uint64_t{64} * 1024;
constexpr std::uint64_t fine_max_base = std::uint64_t{32} << 20;
// Fine matching of changed regions: on this many threads, with at most this many
// bytes of regions and pieces of the full queued (more only for one larger region).
constexpr std::size_t fine_match_threads = 2;
constexpr std::size_t max_queued_match_bytes = std::size_t{4} << 20;
// Adjacent chunk copies are merged into one instruction up to this length (it must
// fit in a window: see VcdiffWriter::copy_summed).
constexpr std::uint64_t max_merged_copy = std::uint64_t{1} << 20;
// ChunkEncoderOptions::on_write is called once per this many bytes of the new archive.
constexpr std::uint64_t progress_step = std::uint64_t{1} << 20;
// The largest ChunkEncoderOptions::max_gap.
constexpr std::size_t max_gap_limit = std::size_t{1} << 30;

using detail::ItemMarks;
using detail::PlanItem;
using detail::SourceSeen;
static_assert(detail::ClusterMatch::max_old_clusters < 8, "ItemMarks::tickets counts them in 3 bits");

class ChunkMatcher {
public:
    // The read of the full and the ones looking at it (fine matching), or all null.
    struct BaseReaders {
        detail::BaseCapture* capture = nullptr;
        detail::BlockScan* scan = nullptr;
        detail::SnippetScan* snippets = nullptr;
        detail::RangeCheck* check = nullptr;
    };
    // `scratch_dir`: where the plan and the tickets wait on disk, beside `spill`.
    ChunkMatcher(const ChunkIndex& index, const BaseReaders& readers, detail::SpillFile& spill,
                 const std::filesystem::path& scratch_dir, const ChunkEncoderOptions& options,
                 ChunkEncodeStats& stats)
        : proof_(readers.capture != nullptr ? options.proof : nullptr),
          index_(index),
          capture_(readers.capture),
          scan_(readers.scan),
          snippets_(readers.snippets),
          check_(readers.check),
          spill_(spill),
          options_(options),
          stats_(stats),
          places_(index, stats),
          plan_(scratch_dir),
          item_tickets_(scratch_dir)
    {
        if (proof_ != nullptr) {
            copy_hash_.emplace(proof_->key());
        }
    }

    void on_chunk(const Chunk& chunk, std::span<const std::uint8_t> bytes)
    {
        ++stats_.chunks;
        const auto loc = index_.find(chunk.hash);
        if (loc && loc->length == chunk.length) {
            flush_gap(loc->offset);
            const auto alt = check_ != nullptr ? places_.likelier_place(chunk, *loc) : std::nullopt;
            plan_copy(loc->offset, bytes, alt ? check_->ask(*alt, chunk.length, chunk.hash) : std::nullopt,
                      alt.value_or(0));
            places_.follow_chain(alt, *loc);
            stats_.chunk_hit_bytes += bytes.size();
            predicted_ = loc->offset + loc->length;
            have_prediction_ = true;
        } else {
            stats_.gap_bytes += bytes.size();
            if (capture_ != nullptr && chunk.cluster_key != 0) {
                // A changed VMA cluster: match it against the full's clusters that held
                // its bytes, wherever the full stored them. Its neighbours in the stream
                // say nothing about it (clusters are reordered), so nothing else.
                bool anchored = false;
                const auto olds = places_.old_clusters(
                    chunk.cluster_key, bytes, anchored,
                    [this](std::size_t waiting, const ChunkLocation& old) {
                        if (plan_.marks(waiting).tickets < detail::ClusterMatch::max_old_clusters) {
                            ask(waiting, old.offset, old.offset + old.length);
                        }
                    });
                flush_gap(olds.empty() ? std::nullopt : std::optional(olds.front().offset));
                PlanItem item;
                item.changed = true;
                item.length = static_cast<std::uint32_t>(bytes.size());
                spill_.append(bytes);
                if (proof_ != nullptr) {
                    item.target_hash = proof_->key().hash(bytes);
                }
                push(item);
                const std::size_t at = plan_.size() - 1;
                asked_.clear();
                for (const ChunkLocation& old : olds) {
                    ask(at, old.offset, old.offset + old.length);
                }
                scan_->want(bytes, at);              // its blocks anywhere else in the full
                snippets_->want(bytes, at, asked_);  // its bytes at any alignment
                if (!anchored) {
                    // An anchor in a disk neighbour processed later may still place it.
                    places_.wait_for_anchor(chunk.cluster_key, at);
                }
                if (!olds.empty()) {
                    ++stats_.clusters_by_position;
                    predicted_ = olds.front().offset + olds.front().length;
                    have_prediction_ = true;
                }
            } else {
                gap_.insert(gap_.end(), bytes.begin(), bytes.end());
                if (gap_.size() >= options_.max_gap) {
                    flush_gap(std::nullopt);
                }
            }
        }
    }

    // Plans the pending changed bytes; `next` is where the next match sits in the full.
    void flush_gap(std::optional<std::uint64_t> next)
    {
        if (gap_.empty()) {
            return;
        }
        const std::uint64_t len = gap_.size();
        PlanItem item;
        item.changed = true;
        item.length = static_cast<std::uint32_t>(len);
        spill_.append(gap_);
        if (proof_ != nullptr) {
            item.target_hash = proof_->key().hash(gap_);
        }
        push(item);
        const std::size_t at = plan_.size() - 1;
        if (capture_ != nullptr) {
            asked_.clear();
            // Where the changed bytes used to be: after the previous match (a chunk
            // changed in place, bytes appended) and before the next one (bytes
            // prepended, a chunk straddling two moved pieces); one range when close.
            std::uint64_t a_lo = have_prediction_ ? predicted_ : 0;
            std::uint64_t a_hi = a_lo + std::min(len + fine_margin, fine_max_base / 2);
            a_lo = a_lo > 4096 ? a_lo - 4096 : 0;
            std::uint64_t b_lo = 0;
            std::uint64_t b_hi = 0;
            if (next) {
                b_hi = *next;
                b_lo = *next - std::min(*next, std::min(len + fine_margin, fine_max_base / 2));
                if (!have_prediction_ || (b_lo <= a_hi && b_hi >= a_lo)) {
                    // Overlapping or nothing before: one range.
                    a_lo = have_prediction_ ? std::min(a_lo, b_lo) : b_lo;
                    a_hi = have_prediction_ ? std::max(a_hi, b_hi) : b_hi;
                    b_lo = b_hi = 0;
                }
            }
            ask(at, a_lo, a_hi);
            if (b_hi > b_lo) {
                ask(at, b_lo, b_hi);
            }
            snippets_->want(gap_, at, asked_);
        }
        gap_.clear();
        predicted_ += len;
        places_.break_chain();  // changed bytes may have been inserted
    }

    // Before the read of the full: the runs of copies that lie beyond the restore
    // horizon (measured, as in prepare(), from where the copies in order have taken
    // the restore) and copy less than 1/far_copy_ratio of the distance they would
    // make a restore read ahead are to be written as literals: their source ranges
    // are asked of the read, like the pieces fine matching wants.
    void drop_far_copies()
    {
        close_copy_hash();
        if (capture_ == nullptr || options_.far_copy_ratio == 0) {
            return;
        }
        const std::uint64_t horizon = options_.restore_horizon;
        std::uint64_t front = 0;
        // Where a copy takes the restore, as prepare() will choose it if the read of
        // the full confirms its alternative (a guess, that may well be wrong).
        auto place = [&](const PlanItem& item) { return place_of(item, front, true); };
        for (std::size_t i = 0; i < plan_.size();) {
            const PlanItem item = plan_.get(i);
            if (item.changed || place(item) + item.length <= front + horizon) {
                if (!item.changed) {
                    front = std::max(front, place(item) + item.length);
                }
                ++i;
                continue;
            }
            // A run: the copies after it that lie near it, with changed bytes between.
            std::uint64_t lo = item.source;
            std::uint64_t hi = item.source + item.length;
            std::uint64_t copied = item.length;
            std::size_t end = i + 1;
            for (; end < plan_.size(); ++end) {
                const PlanItem next = plan_.get(end);
                if (next.changed) {
                    continue;
                }
                const std::uint64_t at = place(next);
                if (at + next.length <= front + horizon || at + horizon < lo || at > hi + horizon) {
                    break;  // back in order, or far elsewhere: another run
                }
                lo = std::min(lo, at);
                hi = std::max(hi, at + next.length);
                copied += next.length;
            }
            if (copied >= (hi - front) / options_.far_copy_ratio) {
                front = hi;
            } else {
                for (std::size_t k = i; k < end; ++k) {
                    const PlanItem p = plan_.get(k);
                    if (!p.changed) {
                        plan_.marks(k).far = true;
                        far_tickets_.push_back(capture_->request(p.source, p.source + p.length));
                        stats_.far_copy_bytes += p.length;
                    }
                }
            }
            i = end;
        }
    }

    // Proof: every copy's source range (and its alternative) is hashed on the read of
    // the full; slot = plan position * 2 + (0: source, 1: alternative).
    void want_source_hashes(detail::RangeHasher& hasher)
    {
        close_copy_hash();
        for (std::size_t i = 0; i < plan_.size(); ++i) {
            const PlanItem item = plan_.get(i);
            if (!item.changed && !plan_.marks(i).far) {
                hasher.want(item.source, item.length, i * 2);
                if (item.has_check) {
                    hasher.want(item.alt_source, item.length, i * 2 + 1);
                }
            }
        }
    }
    // Compared at once with the new archive's: the plan keeps how it compared, and
    // only a differing hash, for the proof to record (rare: a stale or crafted index).
    void source_hashed(detail::RangeHasher::Slot slot, const ProofHash& hash)
    {
        const auto at = static_cast<std::size_t>(slot / 2);
        const SourceSeen seen = hash == plan_.get(at).target_hash ? SourceSeen::same : SourceSeen::differs;
        if (slot % 2 == 0) {
            plan_.marks(at).source_seen = seen;
            if (seen == SourceSeen::differs) {
                differing_hashes_.emplace(slot, hash);
            }
        } else {
            plan_.marks(at).alt_seen = seen;  // a differing alternative is not used (copy_source())
        }
    }

    // Writes the planned instructions in order (after the full was read). Changed
    // regions are fine-matched on worker threads while this one gathers the next
    // regions' bytes and writes, in plan order, what is ready.
    void replay(VcdiffWriter& writer, const std::function<void(std::uint64_t, std::uint64_t)>& on_write,
                std::uint64_t target_bytes)
    {
        std::optional<detail::OrderedFineMatching> matching;
        if (capture_ != nullptr) {
            matching.emplace(writer, proof_, fine_match_threads, max_queued_match_bytes);
        }
        // Each changed item's ranges, in the order asked, the late ones (anchors) last.
        have_item_ticket_ = item_tickets_.next(next_item_ticket_);
        next_far_ticket_ = 0;
        spill_read_ = 0;
        std::uint64_t planned = 0;
        std::uint64_t shown = 0;
        if (on_write) {
            on_write(0, target_bytes);  // the phase's time counts from here
        }
        for (std::size_t i = 0; i < plan_.size(); ++i) {
            const PlanItem item = plan_.get(i);
            prepare(writer, matching ? &*matching : nullptr, item, i);
            if (matching) {
                matching->write_ready();
            }
            planned += item.length;
            // Once a MiB: an archive has a plan item per chunk (~32 KiB).
            if (on_write && (planned - shown >= progress_step || i + 1 == plan_.size())) {
                on_write(planned, target_bytes);
                shown = planned;
            }
        }
        if (matching) {
            matching->finish();
            stats_.fine_copied_bytes += matching->fine_copied_bytes();
        }
        plan_.clear();
        far_tickets_.clear();
        differing_hashes_.clear();
        places_.clear_waiting();
    }

private:
    // Proof: the hash of the copy being merged ends when another item begins.
    void close_copy_hash()
    {
        if (open_copy_) {
            plan_.back().target_hash = copy_hash_->digest();  // the last item: push() closes it first
            open_copy_ = false;
        }
    }
    void push(const PlanItem& item)
    {
        close_copy_hash();
        plan_.push(item);
    }

    // Asks the read of the full for [lo, hi) for the changed item at plan position `at`.
    void ask(std::size_t at, std::uint64_t lo, std::uint64_t hi)
    {
        if (hi > lo) {
            item_tickets_.add(at, capture_->request(lo, hi));
            ++plan_.marks(at).tickets;
            asked_.push_back({lo, hi});
        }
    }

    void plan_copy(std::uint64_t source, std::span<const std::uint8_t> bytes,
                   std::optional<detail::RangeCheck::Id> check, std::uint64_t alt_source)
    {
        // libdeflate's vectorised Adler-32: zlib's took a fifth of this thread's time
        // while it read the new archive (every copied byte goes through here).
        const std::uint32_t adler = libdeflate_adler32(1, bytes.data(), bytes.size());
        if (!plan_.empty() && !check) {
            PlanItem& last = plan_.back();
            if (!last.changed && !last.has_check && last.source + last.length == source &&
                last.length + bytes.size() <= max_merged_copy) {
                last.adler = static_cast<std::uint32_t>(
                    adler32_combine64(last.adler, adler, static_cast<z_off64_t>(bytes.size())));
                last.length += static_cast<std::uint32_t>(bytes.size());
                if (open_copy_) {
                    copy_hash_->update(bytes);
                }
                return;
            }
        }
        PlanItem item;
        item.source = source;
        item.length = static_cast<std::uint32_t>(bytes.size());
        item.adler = adler;
        item.has_check = check.has_value();
        item.check = check.value_or(0);
        item.alt_source = alt_source;
        push(item);
        if (proof_ != nullptr) {
            copy_hash_->reset();
            copy_hash_->update(bytes);
            open_copy_ = true;
        }
    }

    // In plan order: a copy is written at once unless matched regions are still to be
    // written before it; a changed region's bytes and pieces of the full are gathered
    // here (restore horizon included) and matched on the pool.
    void prepare(VcdiffWriter& writer, detail::OrderedFineMatching* matching, PlanItem item, std::size_t at)
    {
        if (plan_.marks(at).far) {
            write_far_copy(writer, matching, item);
            return;
        }
        if (!item.changed) {
            const std::uint64_t source = copy_source(item, at);
            item.from_alt = source != item.source;
            read_ahead_to_ = std::max(read_ahead_to_, source + item.length);
            if (matching == nullptr) {
                write_copy(writer, item, at);
            } else {
                matching->then([this, &writer, item, at] { write_copy(writer, item, at); });
            }
            return;
        }
        // The changed bytes were spilled in plan order.
        const std::uint64_t spill_at = spill_read_;
        spill_read_ += item.length;
        if (matching == nullptr) {  // no fine matching: no ranges asked, no blocks looked for
            unmatched_.resize(static_cast<std::size_t>(item.length));
            spill_.read(spill_at, unmatched_);
            check_changed_bytes(unmatched_, item);
            writer.add(unmatched_);
            return;
        }
        auto job = matching->job();
        if (at + 1 < plan_.size()) {
            if (const PlanItem next = plan_.get(at + 1); !next.changed) {
                job->next_copy_at = copy_source(next, at + 1);
            }
        }
        job->target.resize(static_cast<std::size_t>(item.length));
        spill_.read(spill_at, job->target);
        check_changed_bytes(job->target, item);
        const auto& found = scan_->found(at);
        std::vector<detail::BaseCapture::Ticket> tickets;
        for (; have_item_ticket_ && next_item_ticket_.key == at;
             have_item_ticket_ = item_tickets_.next(next_item_ticket_)) {
            tickets.push_back(next_item_ticket_.value);
        }
        const auto elsewhere = snippets_->tickets(at);
        tickets.insert(tickets.end(), elsewhere.begin(), elsewhere.end());
        // Blocks found elsewhere, and old clusters that anchors name, can lie far ahead
        // of where a restore has read the full by then (options_.restore_horizon).
        // The horizon is measured from where the copies in order have taken the
        // restore, never from a piece accepted here: otherwise it would creep forward
        // 256 MiB per changed region (600 MiB in one window of a 2 GiB tar, every byte
        // in between that later windows read kept aside by the restore).
        auto near_enough = [&](std::uint64_t from, std::uint64_t len) {
            if (from + len <= read_ahead_to_ + options_.restore_horizon) {
                return true;
            }
            ++stats_.beyond_horizon;
            return false;
        };
        for (const auto& f : found) {
            scan_->read(f, base_bytes_);
            if (near_enough(f.full_offset, base_bytes_.size())) {
                job->add_base(base_bytes_, f.full_offset);
            }
        }
        for (const auto ticket : tickets) {
            const std::uint64_t from = capture_->take(ticket, base_bytes_);
            stats_.cluster_base_bytes += base_bytes_.size();
            if (near_enough(from, base_bytes_.size())) {
                job->add_base(base_bytes_, from);
            }
        }
        matching->submit(std::move(job));
    }

    // A copy dropped by drop_far_copies(): the full's bytes, captured on its read, as
    // literals. They must be the new archive's bytes there (the chunk's hash said so):
    // with a proof, their keyed hash is compared with the one taken when planned.
    void write_far_copy(VcdiffWriter& writer, detail::OrderedFineMatching* matching, const PlanItem& item)
    {
        std::vector<std::uint8_t> bytes;
        const std::uint64_t from = capture_->take(far_tickets_[next_far_ticket_++], bytes);
        if (from != item.source || bytes.size() != item.length ||
            (proof_ != nullptr && proof_->key().hash(bytes) != item.target_hash)) {
            throw io::Error(
                fmt::format("the full's bytes at {} are not the new archive's that the chunk index "
                            "found there ({} bytes)",
                            item.source, item.length));
        }
        if (matching == nullptr) {
            writer.add(bytes);
            return;
        }
        auto job = matching->job();
        job->target = std::move(bytes);  // no piece of the full: written as literals
        matching->submit(std::move(job));
    }

    // The changed bytes read back from the scratch file are those hashed when written.
    void check_changed_bytes(std::span<const std::uint8_t> bytes, const PlanItem& item) const
    {
        if (proof_ != nullptr && proof_->key().hash(bytes) != item.target_hash) {
            throw io::Error(
                "scratch file: changed bytes of the new archive read back differ from those written");
        }
    }

    // Where a copy is taken from, the restore having read the full up to `front`: its
    // alternative (where the bytes were expected, in order) when `confirmed` and
    // within the restore horizon, else its source (the full's first place of them).
    // drop_far_copies() and prepare() choose by this one rule, so that what the first
    // counts as far is what the second writes.
    [[nodiscard]] std::uint64_t place_of(const PlanItem& item, std::uint64_t front, bool confirmed) const
    {
        return item.has_check && confirmed &&
                       item.alt_source + item.length <= front + options_.restore_horizon
                   ? item.alt_source
                   : item.source;
    }
    // The alternative must be confirmed by the read's check and, with a proof, not
    // hash differently from the new archive's bytes.
    [[nodiscard]] std::uint64_t copy_source(const PlanItem& item, std::size_t at)
    {
        return place_of(
            item, read_ahead_to_,
            item.has_check && check_->holds(item.check) && plan_.marks(at).alt_seen != SourceSeen::differs);
    }
    void write_copy(VcdiffWriter& writer, const PlanItem& item, std::size_t at)
    {
        const bool alt = item.from_alt;
        const std::uint64_t source = alt ? item.alt_source : item.source;
        writer.copy_summed(source, item.length, item.adler);
        if (proof_ != nullptr) {
            proof_->copy(source, item.length, item.adler, item.target_hash, seen_hash(item, at));
        }
    }
    // The hash of the full's bytes a copy is written from, as the read of the full saw
    // them (absent if it never did).
    [[nodiscard]] std::optional<ProofHash> seen_hash(const PlanItem& item, std::size_t at)
    {
        const ItemMarks marks = plan_.marks(at);
        switch (item.from_alt ? marks.alt_seen : marks.source_seen) {
            case SourceSeen::same:
                return item.target_hash;
            case SourceSeen::differs:
                return differing_hashes_.at(at * 2);  // never the alternative: copy_source()
            case SourceSeen::no:
                break;
        }
        return std::nullopt;
    }

    CopyProof* proof_;  // null without a proof, or without the full's read
    std::optional<ProofKey::Stream> copy_hash_;
    bool open_copy_ = false;  // copy_hash_ is hashing the last item, a copy
    const ChunkIndex& index_;
    detail::BaseCapture* capture_;
    detail::BlockScan* scan_;
    detail::SnippetScan* snippets_;
    detail::RangeCheck* check_;
    detail::SpillFile& spill_;
    const ChunkEncoderOptions& options_;
    ChunkEncodeStats& stats_;
    detail::ClusterMatch places_;  // where old content is expected
    // The whole plan waits for the full's reader(s): on scratch disk, one byte per item
    // in memory (plan_store.h); the changed bytes are in spill_, in plan order.
    detail::PlanStore plan_;
    // Beside it: the ranges of the full asked for changed items, (plan position,
    // ticket) in the order asked (an anchor found later asks for an earlier item), on
    // scratch disk and handed out by position; the far copies' captured sources, in
    // plan order; a copy source's hash that differs from the new archive's, by slot
    // (want_source_hashes()).
    detail::RecordSorter item_tickets_;
    std::vector<detail::BaseCapture::Ticket> far_tickets_;
    std::map<detail::RangeHasher::Slot, ProofHash> differing_hashes_;
    // Where replay() is in those and in spill_.
    detail::Record next_item_ticket_;
    bool have_item_ticket_ = false;
    std::size_t next_far_ticket_ = 0;
    std::uint64_t spill_read_ = 0;
    std::vector<std::uint8_t> gap_;
    std::vector<detail::SnippetScan::Range> asked_;  // the ranges asked for the item being planned
    std::vector<std::uint8_t> base_bytes_;
    std::vector<std::uint8_t> unmatched_;  // a changed region's bytes, without fine matching
    std::uint64_t predicted_ = 0;
    bool have_prediction_ = false;
    // How far a restore will have read the full by the instruction being written.
    std::uint64_t read_ahead_to_ = 0;
};

class ChunkEncoder final : public Encoder {
public:
    explicit ChunkEncoder(ChunkEncoderOptions options) : options_(std::move(options))
    {
        check_chunk_params(options_.chunking);
        // A plan item's length is 32 bits: a gap is flushed at max_gap plus one chunk.
        if (options_.max_gap == 0 || options_.max_gap > max_gap_limit) {
            throw io::Error("chunk encoder: max_gap out of range: need 1 byte to 1 GiB");
        }
    }
    [[nodiscard]] std::string name() const override { return "chunked"; }

    EncodeResult encode(io::ByteSource& base, io::ByteSource& target, io::ByteSink& delta) override
    {
        EncodeResult result;
        ChunkEncodeStats stats;
        std::shared_ptr<const ChunkIndex> index = options_.index;
        std::unique_ptr<io::ByteSource> second_base;
        io::ByteSource* base_reader = nullptr;
        const std::filesystem::path spill_dir =
            options_.spill_dir.empty() ? std::filesystem::temp_directory_path() : options_.spill_dir;
        if (!index) {
            // Sorted on scratch disk beside the other spills: no table in memory.
            if (options_.on_index_built) {
                // With the SHA-256 of the bytes it indexes, taken on the same pass: what
                // ties it to a full if the caller keeps it.
                io::HashingSource hashed(base);
                ChunkIndex built = build_chunk_index(hashed, options_.chunking, options_.layout, spill_dir);
                built.set_content_sha256(hashed.finish());
                index = std::make_shared<const ChunkIndex>(std::move(built));
            } else {
                index = std::make_shared<const ChunkIndex>(
                    build_chunk_index(base, options_.chunking, options_.layout, spill_dir));
            }
            stats.index_built = true;
            result.base_bytes = index->content_size();
            if (options_.fine_match && options_.reopen_base) {
                second_base = options_.reopen_base();
                base_reader = second_base.get();
            }
        } else if (options_.fine_match) {
            base_reader = &base;
        }
        stats.index_entries = index->entry_count();
        stats.index_memory_bytes = index->memory_bytes();

        detail::SpillFile spill(spill_dir);
        std::optional<detail::BlockScan> scan;
        std::optional<detail::RangeCheck> check;
        std::optional<detail::BaseCapture> capture;
        std::optional<detail::SnippetScan> snippets;
        ChunkMatcher::BaseReaders readers;
        if (base_reader != nullptr) {
            readers.scan = &scan.emplace(spill_dir);
            readers.check = &check.emplace();
            readers.capture = &capture.emplace(spill_dir);
            readers.snippets = &snippets.emplace(*capture);
        }
        std::unique_ptr<io::ByteSource> ahead;
        io::ByteSource* input = &target;
        if (options_.read_ahead) {
            ahead = io::make_read_ahead(std::make_unique<io::SourceRef>(target));
            input = ahead.get();
        }
        io::HashingSource hashed(*input);
        std::uint64_t target_bytes = 0;
        io::ByteSource& reading = options_.hash_target ? static_cast<io::ByteSource&>(hashed) : *input;

        ChunkMatcher matcher(*index, readers, spill, spill_dir, options_, stats);
        Chunker chunker(
            index->params(), options_.layout,
            [&](const Chunk& c, std::span<const std::uint8_t> bytes) { matcher.on_chunk(c, bytes); });
        std::vector<std::uint8_t> buf(io::stream_buffer_size);
        for (;;) {
            const std::size_t n = reading.read(buf);
            target_bytes += n;
            if (n == 0) {
                break;
            }
            chunker.feed(std::span<const std::uint8_t>(buf.data(), n));
        }
        chunker.finish();
        matcher.flush_gap(std::nullopt);
        matcher.drop_far_copies();

        // Now that every old version wanted is known, one read of the full collects
        // them, wherever they are, and looks for the changed clusters' blocks.
        if (capture) {
            // With a proof, the copies' source ranges are hashed here, and the full's
            // content on the read-ahead thread beside its decompressor, to show that it
            // is the content its manifest records: by the XXH3-128 its index took of it
            // (the index's SHA-256 being the manifest's: commands/pipeline.cpp); for an
            // index without one (version 4 or older), by its SHA-256, ten times the
            // CPU, with the XXH3-128 taken too, for the caller to save that index again
            // with it (EncodeResult::base_xxh128).
            std::optional<detail::RangeHasher> hasher;
            io::HashingSource* base_sha = nullptr;
            io::Xxh128Source* base_xxh = nullptr;
            const bool check_by_index = index->content_sha256() && index->content_xxh128();
            std::unique_ptr<io::ByteSource> base_chain = std::make_unique<io::SourceRef>(*base_reader);
            if (options_.proof != nullptr) {
                matcher.want_source_hashes(hasher.emplace(options_.proof->key(), spill_dir));
                if (!check_by_index) {
                    auto hashing = std::make_unique<io::HashingSource>(std::move(base_chain));
                    base_sha = hashing.get();
                    base_chain = std::move(hashing);
                }
                auto hashing = std::make_unique<io::Xxh128Source>(std::move(base_chain));
                base_xxh = hashing.get();
                base_chain = std::move(hashing);
            }
            auto ahead_base = io::make_read_ahead(std::move(base_chain));
            const auto source_hashed = [&](detail::RangeHasher::Slot slot, const ProofHash& h) {
                matcher.source_hashed(slot, h);
            };
            const std::uint64_t base_size =
                capture->read_all(*ahead_base, [&](std::uint64_t pos, std::span<const std::uint8_t> bytes) {
                    scan->feed(pos, bytes);
                    snippets->feed(pos, bytes);
                    check->feed(pos, bytes);
                    if (hasher) {
                        hasher->feed(pos, bytes, source_hashed);
                    }
                    if (options_.on_base_read) {
                        options_.on_base_read(pos + bytes.size(), index->content_size());
                    }
                });
            result.base_bytes = std::max(result.base_bytes, base_size);
            if (base_size != index->content_size()) {
                throw io::Error(
                    fmt::format("chunk index does not match the full '{}': indexed {} bytes, the full has {}",
                                base_reader->name(), index->content_size(), base_size));
            }
            // read_all() read to the end: the read-ahead thread is done with the hash.
            if (base_sha != nullptr) {
                result.base_sha256 = base_sha->finish();
                result.base_xxh128 = base_xxh->finish();
                result.proof_covers_delta = true;
            } else if (base_xxh != nullptr) {
                if (base_xxh->finish() != *index->content_xxh128()) {
                    throw io::Error(fmt::format(
                        "'{}' is not the full its chunk index and manifest describe (its content's "
                        "XXH3-128 differs): it was replaced or changed",
                        base_reader->name()));
                }
                result.base_sha256 = *index->content_sha256();
                result.proof_covers_delta = true;
            }
            stats.base_kept_bytes = capture->kept_bytes();
            stats.scan_found_blocks = scan->found_blocks();
            stats.snippet_ranges = snippets->ranges_asked();
            stats.copies_in_order = check->held_count();
        }
        VcdiffWriter writer(delta, options_.writer);
        matcher.replay(writer, options_.on_write, target_bytes);
        writer.finish();
        if (options_.proof != nullptr && capture) {
            options_.proof->finish();
        }
        result.target_bytes = target_bytes;
        if (options_.hash_target) {
            result.target_sha256 = hashed.finish();
        }
        const auto& ws = writer.stats();
        result.delta_bytes = ws.delta_bytes;
        result.copied_bytes = ws.copied_bytes;
        result.literal_bytes = ws.literal_bytes + ws.run_bytes;
        result.windows = ws.windows;
        if (options_.stats != nullptr) {
            *options_.stats = stats;
        }
        if (stats.index_built && options_.on_index_built) {
            options_.on_index_built(index);
        }
        return result;
    }

private:
    ChunkEncoderOptions options_;
};

}  // namespace

std::unique_ptr<Encoder> make_chunk_encoder(ChunkEncoderOptions options)
{
    return std::make_unique<ChunkEncoder>(std::move(options));
}

}  // namespace pvediff::engine
