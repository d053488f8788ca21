// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/chunk_index.h"

#include <algorithm>

#include "chunk_index_file.h"
#include "pvediff/io/atomic_file.h"

namespace pvediff::engine {

using detail::Checksum;
using detail::entry_size;
using detail::header_size;
using detail::index_magic;
using detail::index_version;
using detail::length_bits;
using detail::length_mask;
using detail::max_offset;
using detail::Record;
using detail::SortedTable;

namespace {

// Hash 0 marks an empty slot; the (astronomically rare) real 0 is stored as 1, on
// both the indexing and the lookup side.
std::uint64_t slot_hash(std::uint64_t h)
{
    return h == 0 ? 1 : h;
}

// Sampling by the top bits: keys were once placed in hash tables by their low bits.
constexpr int anchor_sample_shift = 59;  // one block in 32

}  // namespace

std::optional<std::uint64_t> anchor_hash(std::span<const std::uint8_t> block)
{
    const std::uint64_t h = XXH3_64bits(block.data(), block.size());
    if ((h >> anchor_sample_shift) != 0) {
        return std::nullopt;
    }
    return slot_hash(h);
}

namespace detail {

// Writes the sorted records of `sorter` to the storage's scratch file as a table,
// keeping the first record of every key; `on_duplicate` is told of the others (a
// version 2 file must not have any).
SortedTable write_table(detail::RecordSorter& sorter, ChunkIndex::Storage& storage,
                        const std::function<void(const Record&)>& on_duplicate)
{
    const std::uint64_t begin = storage.scratch->size();
    detail::TableDirectory directory;
    std::vector<std::uint8_t> buf;
    buf.reserve(io::stream_buffer_size);
    sorter.merge([&](const Record& r) {
        if (!directory.note(r.key)) {
            on_duplicate(r);
            return;
        }
        io::append_le64(buf, r.key);
        io::append_le64(buf, r.value);
        if (buf.size() >= io::stream_buffer_size) {
            storage.scratch->append(buf);
            buf.clear();
        }
    });
    storage.scratch->append(buf);
    const std::uint64_t count = directory.count();
    return {storage.reader(), begin, count, directory.take()};
}

}  // namespace detail

namespace {

detail::RecordSorter::Budget sort_budget(const IndexBuildBudget& b)
{
    return {b.run_records, b.fan_in, b.read_records};
}

ChunkLocation unpack(std::uint64_t location)
{
    return {location >> length_bits, static_cast<std::uint32_t>(location & length_mask)};
}

}  // namespace

ChunkIndex::ChunkIndex(ChunkParams params) : params_(params)
{
    check_chunk_params(params_);
}

struct ChunkIndexBuilder::Sorters {
    detail::RecordSorter chunks;
    detail::RecordSorter clusters;
    detail::RecordSorter anchors;
};

ChunkIndexBuilder::ChunkIndexBuilder(ChunkParams params, const std::filesystem::path& scratch_dir,
                                     IndexBuildBudget budget)
    : params_(params),
      scratch_dir_(scratch_dir.empty() ? std::filesystem::temp_directory_path() : scratch_dir),
      sorters_(std::make_unique<Sorters>(Sorters{{scratch_dir_, sort_budget(budget)},
                                                 {scratch_dir_, sort_budget(budget)},
                                                 {scratch_dir_, sort_budget(budget)}}))
{
    check_chunk_params(params_);
}

ChunkIndexBuilder::~ChunkIndexBuilder() = default;

void ChunkIndexBuilder::add(const Chunk& chunk, std::span<const std::uint8_t> bytes)
{
    if (chunk.offset > max_offset || chunk.length == 0 || chunk.length > params_.max_size) {
        throw io::Error(fmt::format("chunk index: chunk at offset {} out of range", chunk.offset));
    }
    ++chunk_count_;
    const std::uint64_t location = (chunk.offset << length_bits) | chunk.length;
    sorters_->chunks.add(slot_hash(chunk.hash), location);
    if (chunk.cluster_key != 0) {
        sorters_->clusters.add(slot_hash(chunk.cluster_key), location);
        for (std::size_t at = 0; at + anchor_block <= bytes.size(); at += anchor_block) {
            if (const auto anchor = anchor_hash(bytes.subspan(at, anchor_block))) {
                // The key's low 4 bits are free: they take the block's place in the cluster.
                const std::uint64_t block_no = at / anchor_block;
                sorters_->anchors.add(*anchor, chunk.cluster_key | block_no);
            }
        }
    }
}

ChunkIndex ChunkIndexBuilder::finish(std::uint64_t content_size)
{
    auto storage = std::make_shared<ChunkIndex::Storage>();
    storage->scratch = std::make_unique<detail::SpillFile>(scratch_dir_);
    const auto keep_first = [](const Record&) {};
    storage->chunks = write_table(sorters_->chunks, *storage, keep_first);
    storage->clusters = write_table(sorters_->clusters, *storage, keep_first);
    storage->anchors = write_table(sorters_->anchors, *storage, keep_first);
    ChunkIndex index(params_);
    index.content_size_ = content_size;
    index.chunk_count_ = chunk_count_;
    index.entries_ = storage->chunks.count();
    index.clusters_ = storage->clusters.count();
    index.anchors_ = storage->anchors.count();
    index.storage_ = std::move(storage);
    return index;
}

std::optional<ChunkLocation> ChunkIndex::find(std::uint64_t hash) const
{
    if (!storage_) {
        return std::nullopt;
    }
    const auto hit = storage_->chunks.find(slot_hash(hash));
    if (!hit) {
        return std::nullopt;
    }
    const ChunkLocation loc = unpack(hit->value);
    if (storage_->recheck && (loc.length == 0 || loc.length > params_.max_size ||
                              loc.offset > content_size_ || loc.length > content_size_ - loc.offset)) {
        io::throw_parse_error(storage_->name, hit->offset, "chunk index entry changed since it was checked");
    }
    return loc;
}

std::optional<ChunkLocation> ChunkIndex::find_cluster(std::uint64_t cluster_key) const
{
    if (!storage_) {
        return std::nullopt;
    }
    const auto hit = storage_->clusters.find(slot_hash(cluster_key));
    if (!hit) {
        return std::nullopt;
    }
    const ChunkLocation loc = unpack(hit->value);
    if (storage_->recheck && (loc.length == 0 || loc.length > params_.max_size ||
                              loc.offset > content_size_ || loc.length > content_size_ - loc.offset)) {
        io::throw_parse_error(storage_->name, hit->offset,
                              "chunk index cluster changed since it was checked");
    }
    return loc;
}

std::optional<std::uint64_t> ChunkIndex::find_anchor(std::uint64_t anchor) const
{
    if (!storage_) {
        return std::nullopt;
    }
    const auto hit = storage_->anchors.find(anchor);
    if (!hit) {
        return std::nullopt;
    }
    if (storage_->recheck && hit->value == 0) {
        io::throw_parse_error(storage_->name, hit->offset, "chunk index anchor changed since it was checked");
    }
    return hit->value;
}

std::uint64_t ChunkIndex::memory_bytes() const
{
    if (!storage_) {
        return 0;
    }
    return storage_->chunks.memory_bytes() + storage_->clusters.memory_bytes() +
           storage_->anchors.memory_bytes();
}

std::uint64_t ChunkIndex::file_bytes() const
{
    return header_size + (entries_ + clusters_ + anchors_) * entry_size + 8;
}

void ChunkIndex::save(io::ByteSink& out) const
{
    std::vector<std::uint8_t> buf(index_magic.begin(), index_magic.end());
    io::append_le32(buf, index_version);
    io::append_le32(buf, 0);
    io::append_le32(buf, params_.min_size);
    io::append_le32(buf, params_.avg_size);
    io::append_le32(buf, params_.max_size);
    io::append_le32(buf, params_.boundary_ratio);
    io::append_le64(buf, content_size_);
    io::append_le64(buf, chunk_count_);
    io::append_le64(buf, entries_);
    io::append_le64(buf, clusters_);
    io::append_le64(buf, anchors_);
    const io::Digest sha256 = content_sha256_.value_or(io::Digest{});
    buf.insert(buf.end(), sha256.begin(), sha256.end());
    const io::Xxh128Digest xxh128 = content_xxh128_.value_or(io::Xxh128Digest{});
    buf.insert(buf.end(), xxh128.begin(), xxh128.end());
    Checksum sum;
    sum.update(buf);
    out.write(buf);
    if (storage_) {
        // The tables are sorted already: a copy, a piece at a time.
        buf.resize(io::stream_buffer_size);
        for (const SortedTable* table : {&storage_->chunks, &storage_->clusters, &storage_->anchors}) {
            std::uint64_t at = table->offset();
            for (std::uint64_t left = table->count() * entry_size; left > 0;) {
                const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
                const std::span<std::uint8_t> piece(buf.data(), n);
                storage_->read(at, piece);
                sum.update(piece);
                out.write(piece);
                at += n;
                left -= n;
            }
        }
    }
    buf.clear();
    io::append_le64(buf, sum.digest());
    out.write(buf);
}

void ChunkIndex::save(const std::filesystem::path& path, const io::FileMode& mode) const
{
    io::AtomicFile file(path, mode);
    save(file.sink());
    file.sink().finish();
    file.commit();
}

ChunkIndex build_chunk_index(io::ByteSource& full, const ChunkParams& params, const LayoutFactory& layout,
                             const std::filesystem::path& scratch_dir, IndexBuildBudget budget)
{
    ChunkIndexBuilder builder(params, scratch_dir, budget);
    Chunker chunker(params, layout,
                    [&](const Chunk& c, std::span<const std::uint8_t> bytes) { builder.add(c, bytes); });
    // Its XXH3-128 on the same pass: what a later read of the full is compared with.
    io::Xxh128 content_hash;
    std::vector<std::uint8_t> buf(io::stream_buffer_size);
    for (;;) {
        const std::size_t n = full.read(buf);
        if (n == 0) {
            break;
        }
        content_hash.update(std::span<const std::uint8_t>(buf.data(), n));
        chunker.feed(std::span<const std::uint8_t>(buf.data(), n));
    }
    chunker.finish();
    ChunkIndex index = builder.finish(chunker.bytes());
    index.set_content_xxh128(content_hash.finish());
    return index;
}

}  // namespace pvediff::engine
