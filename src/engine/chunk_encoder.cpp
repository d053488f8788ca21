// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/chunk_encoder.h"

#include <algorithm>
#include <optional>

#include "chunk_ring.h"
#include "fine_match.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::engine {

namespace {

// Lets a read-ahead thread own a stream the caller owns.
class BorrowedSource final : public io::ByteSource {
public:
    explicit BorrowedSource(io::ByteSource& inner) : inner_(inner) {}
    std::size_t read(std::span<std::uint8_t> buf) override { return inner_.read(buf); }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }

private:
    io::ByteSource& inner_;
};

// Bytes of the full looked at around a changed region, beyond its expected extent.
constexpr std::uint64_t fine_margin = 64 * 1024;
constexpr std::uint64_t fine_max_base = std::uint64_t{32} << 20;

class ChunkMatcher {
public:
    ChunkMatcher(const ChunkIndex& index, VcdiffWriter& writer, detail::BaseRing* ring,
                 const ChunkEncoderOptions& options, ChunkEncodeStats& stats)
        : index_(index), writer_(writer), ring_(ring), options_(options), stats_(stats)
    {
    }

    void on_chunk(const Chunk& chunk, std::span<const std::uint8_t> bytes)
    {
        ++stats_.chunks;
        const auto loc = index_.find(chunk.hash);
        if (loc && loc->length == chunk.length) {
            flush_gap(loc->offset);
            writer_.copy(loc->offset, bytes);
            stats_.chunk_hit_bytes += bytes.size();
            predicted_ = loc->offset + loc->length;
            have_prediction_ = true;
            if (ring_ != nullptr) {
                // Keep the full's bytes around both where the last match came from and
                // where this position would be if nothing had moved: an insertion
                // shifts the first, reordered VMA clusters scatter it around the second.
                const std::uint64_t by_match = predicted_ - std::min(predicted_, options_.ring_size / 4);
                const std::uint64_t by_position = chunk.offset - std::min(chunk.offset, options_.ring_size / 2);
                ring_->release_below(std::min(by_match, by_position));
            }
            return;
        }
        stats_.gap_bytes += bytes.size();
        if (ring_ != nullptr && chunk.cluster_key != 0) {
            // A changed VMA cluster: match it against the same cluster of the full,
            // wherever the full stored it.
            if (const auto cluster = index_.find_cluster(chunk.cluster_key)) {
                flush_gap(cluster->offset);
                const std::uint64_t from = ring_->get(cluster->offset, cluster->offset + cluster->length, base_bytes_);
                matcher_.add_base(base_bytes_, from);
                ++stats_.clusters_by_position;
                stats_.cluster_base_bytes += base_bytes_.size();
                const std::uint64_t copied_before = writer_.stats().copied_bytes;
                matcher_.encode(bytes, writer_);
                stats_.fine_copied_bytes += writer_.stats().copied_bytes - copied_before;
                predicted_ = cluster->offset + cluster->length;
                have_prediction_ = true;
                return;
            }
        }
        gap_.insert(gap_.end(), bytes.begin(), bytes.end());
        if (gap_.size() >= options_.max_gap) {
            flush_gap(std::nullopt);
        }
    }

    // Writes the pending changed bytes; `next` is where the next match sits in the full.
    void flush_gap(std::optional<std::uint64_t> next)
    {
        if (gap_.empty()) {
            return;
        }
        const std::uint64_t len = gap_.size();
        if (ring_ == nullptr) {
            writer_.add(gap_);
        } else {
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
            // Ascending, so fetching the second range cannot evict the first.
            if (b_hi > b_lo && b_hi < a_hi) {
                std::swap(a_lo, b_lo);
                std::swap(a_hi, b_hi);
            }
            std::uint64_t from = ring_->get(a_lo, a_hi, base_bytes_);
            matcher_.add_base(base_bytes_, from);
            if (b_hi > b_lo) {
                from = ring_->get(b_lo, b_hi, base_bytes_);
                matcher_.add_base(base_bytes_, from);
            }
            const std::uint64_t copied_before = writer_.stats().copied_bytes;
            matcher_.encode(gap_, writer_);
            stats_.fine_copied_bytes += writer_.stats().copied_bytes - copied_before;
        }
        predicted_ += len;
        gap_.clear();
    }

private:
    const ChunkIndex& index_;
    VcdiffWriter& writer_;
    detail::BaseRing* ring_;
    const ChunkEncoderOptions& options_;
    ChunkEncodeStats& stats_;
    detail::FineMatcher matcher_;
    std::vector<std::uint8_t> gap_;
    std::vector<std::uint8_t> base_bytes_;
    std::uint64_t predicted_ = 0;
    bool have_prediction_ = false;
};

class ChunkEncoder final : public Encoder {
public:
    explicit ChunkEncoder(ChunkEncoderOptions options) : options_(std::move(options))
    {
        check_chunk_params(options_.chunking);
    }
    [[nodiscard]] std::string name() const override { return "chunked"; }

    EncodeResult encode(io::ByteSource& base, io::ByteSource& target, io::ByteSink& delta) override
    {
        EncodeResult result;
        ChunkEncodeStats stats;
        std::shared_ptr<const ChunkIndex> index = options_.index;
        std::unique_ptr<io::ByteSource> second_base;
        io::ByteSource* ring_source = nullptr;
        if (!index) {
            index = std::make_shared<const ChunkIndex>(build_chunk_index(base, options_.chunking, options_.layout));
            stats.index_built = true;
            result.base_bytes = index->content_size();
            if (options_.fine_match && options_.reopen_base) {
                second_base = options_.reopen_base();
                ring_source = second_base.get();
            }
        } else if (options_.fine_match) {
            ring_source = &base;
        }
        stats.index_entries = index->entry_count();
        stats.index_memory_bytes = index->memory_bytes();

        std::optional<detail::BaseRing> ring;
        if (ring_source != nullptr) {
            ring.emplace(*ring_source, options_.ring_size);
        }
        std::unique_ptr<io::ByteSource> ahead;
        io::ByteSource* input = &target;
        if (options_.read_ahead) {
            ahead = io::make_read_ahead(std::make_unique<BorrowedSource>(target));
            input = ahead.get();
        }
        io::HashingSource hashed(*input);

        VcdiffWriter writer(delta, options_.writer);
        ChunkMatcher matcher(*index, writer, ring ? &*ring : nullptr, options_, stats);
        Chunker chunker(index->params(), options_.layout,
                        [&](const Chunk& c, std::span<const std::uint8_t> bytes) { matcher.on_chunk(c, bytes); });
        std::vector<std::uint8_t> buf(io::stream_buffer_size);
        for (;;) {
            const std::size_t n = hashed.read(buf);
            if (n == 0) {
                break;
            }
            chunker.feed(std::span<const std::uint8_t>(buf.data(), n));
        }
        chunker.finish();
        matcher.flush_gap(std::nullopt);
        writer.finish();

        if (ring) {
            const std::uint64_t base_size = ring->finish();
            result.base_bytes = std::max(result.base_bytes, base_size);
            if (base_size != index->content_size()) {
                throw io::Error("chunk index does not match the full '" + ring_source->name() + "': indexed " +
                                std::to_string(index->content_size()) + " bytes, the full has " +
                                std::to_string(base_size));
            }
        }
        result.target_bytes = hashed.bytes();
        result.target_sha256 = hashed.finish();
        const auto& ws = writer.stats();
        result.delta_bytes = ws.delta_bytes;
        result.copied_bytes = ws.copied_bytes;
        result.literal_bytes = ws.literal_bytes + ws.run_bytes;
        result.windows = ws.windows;
        if (options_.stats != nullptr) {
            *options_.stats = stats;
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
