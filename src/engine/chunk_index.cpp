// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/chunk_index.h"

#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <array>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "record_sort.h"
#include "sorted_table.h"
#include "spill_file.h"

namespace pvediff::engine {

namespace {

constexpr std::array<std::uint8_t, 8> index_magic = {'P', 'V', 'D', 'X', 'C', 'I', 'D', 'X'};
constexpr std::uint32_t index_version = 3;     // 3: tables sorted by key
constexpr std::uint32_t unsorted_version = 2;  // 2: anchors, tables in hash-table order
constexpr std::size_t header_size = 8 + 4 * 6 + 8 * 5;
constexpr std::size_t entry_size = 16;
constexpr std::uint64_t length_bits = 24;
constexpr std::uint64_t length_mask = (std::uint64_t{1} << length_bits) - 1;
constexpr std::uint64_t max_offset = (std::uint64_t{1} << (64 - length_bits)) - 1;  // 1 TiB

// XXH3-64 over the bytes of the file before its checksum.
class Checksum {
public:
    Checksum() : state_(XXH3_createState())
    {
        if (state_ == nullptr) {
            throw io::Error("out of memory");
        }
        XXH3_64bits_reset(state_);
    }
    Checksum(const Checksum&) = delete;
    Checksum& operator=(const Checksum&) = delete;
    ~Checksum() { XXH3_freeState(state_); }
    void update(std::span<const std::uint8_t> bytes)
    {
        XXH3_64bits_update(state_, bytes.data(), bytes.size());
    }
    [[nodiscard]] std::uint64_t digest() const { return XXH3_64bits_digest(state_); }

private:
    XXH3_state_t* state_;
};

// The fixed part of the file, checked against the file's size.
struct IndexHeader {
    std::uint32_t version = 0;
    ChunkParams params;
    std::uint64_t content_size = 0;
    std::uint64_t chunk_count = 0;
    std::uint64_t entry_count = 0;
    std::uint64_t cluster_count = 0;
    std::uint64_t anchor_count = 0;
};

// Hash 0 marks an empty slot; the (astronomically rare) real 0 is stored as 1, on
// both the indexing and the lookup side.
std::uint64_t slot_hash(std::uint64_t h)
{
    return h == 0 ? 1 : h;
}

// An anchor's value: its cluster's key with the block's number in the cluster.
constexpr std::uint64_t anchor_block_mask = 15;
// Sampling by the top bits: the tables place keys by their low bits.
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

// The file the three tables are in: the sidecar itself once it is checked, or an
// unnamed scratch file for an index built (or converted from version 2) here.
struct ChunkIndex::Storage {
    std::string name;
    io::Fd fd;                                   // the sidecar
    std::unique_ptr<detail::SpillFile> scratch;  // or the scratch file
    // A sidecar can be changed behind our back after it was checked: hits are checked
    // again. The scratch file is ours alone.
    bool recheck = false;
    detail::SortedTable chunks;
    detail::SortedTable clusters;
    detail::SortedTable anchors;

    void read(std::uint64_t offset, std::span<std::uint8_t> out) const
    {
        if (scratch) {
            scratch->read(offset, out);
        } else {
            io::pread_exact(fd.get(), out, offset, name);
        }
    }
    [[nodiscard]] detail::TableReader reader() const
    {
        return [this](std::uint64_t offset, std::span<std::uint8_t> out) { read(offset, out); };
    }
};

namespace {

using detail::Record;
using detail::SortedTable;

// Reads a table's records in order, a piece at a time.
class TableScan {
public:
    TableScan(const ChunkIndex::Storage& storage, const SortedTable& table)
        : storage_(storage), next_(table.offset()), left_(table.count()), buf_(64 * 1024)
    {
    }
    // The next record and its offset in the file, or false at the end.
    bool next(Record& r, std::uint64_t& offset)
    {
        if (at_ == have_) {
            if (left_ == 0) {
                return false;
            }
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, buf_.size() / entry_size));
            storage_.read(next_, std::span<std::uint8_t>(buf_.data(), n * entry_size));
            base_ = next_;
            next_ += n * entry_size;
            left_ -= n;
            at_ = 0;
            have_ = n;
        }
        const std::uint8_t* p = buf_.data() + at_ * entry_size;
        r = {io::load_le64(p), io::load_le64(p + 8)};
        offset = base_ + at_ * entry_size;
        ++at_;
        return true;
    }

private:
    const ChunkIndex::Storage& storage_;
    std::uint64_t next_;
    std::uint64_t left_;
    std::vector<std::uint8_t> buf_;
    std::uint64_t base_ = 0;
    std::size_t at_ = 0;
    std::size_t have_ = 0;
};

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

namespace {

// Reads and checks the header: magic, version, parameters, and counts that agree with
// each other and with the file's size (so nothing is allocated for entries that are
// not there).
IndexHeader read_header(const io::Fd& fd, const std::string& name, std::uint64_t file_size, Checksum& sum)
{
    if (file_size < header_size + 8) {
        io::throw_parse_error(name, file_size, fmt::format("chunk index truncated: {} bytes", file_size));
    }
    std::array<std::uint8_t, header_size> bytes{};
    io::pread_exact(fd.get(), bytes, 0, name);
    sum.update(bytes);
    io::ByteReader r(bytes, name);
    if (!std::ranges::equal(r.bytes(index_magic.size()), index_magic)) {
        r.fail_at(0, "not a pvediff chunk index (bad magic)");
    }
    IndexHeader h;
    h.version = r.le32();
    if (h.version != index_version && h.version != unsorted_version) {
        r.fail_at(8, fmt::format("unsupported chunk index version {}", h.version));
    }
    if (r.le32() != 0) {
        r.fail_at(12, "unknown chunk index flags");
    }
    h.params.min_size = r.le32();
    h.params.avg_size = r.le32();
    h.params.max_size = r.le32();
    h.params.boundary_ratio = r.le32();
    try {
        check_chunk_params(h.params);
    } catch (const io::Error& e) {
        r.fail_at(16, e.what());  // the same check, with the file and offset added
    }
    h.content_size = r.le64();
    h.chunk_count = r.le64();
    h.entry_count = r.le64();
    h.cluster_count = r.le64();
    h.anchor_count = r.le64();
    if (h.entry_count > h.chunk_count || h.cluster_count > h.chunk_count || h.chunk_count > h.content_size ||
        h.anchor_count > h.content_size / anchor_block || (h.anchor_count > 0 && h.cluster_count == 0)) {
        r.fail_at(40, "inconsistent chunk counts");
    }
    const std::uint64_t room = (file_size - header_size - 8) / entry_size;
    if (h.entry_count > room || h.cluster_count > room - h.entry_count ||
        h.anchor_count > room - h.entry_count - h.cluster_count ||
        header_size + (h.entry_count + h.cluster_count + h.anchor_count) * entry_size + 8 != file_size) {
        r.fail_at(48, fmt::format("entry counts do not match the file size {}", file_size));
    }
    return h;
}

// The table an entry belongs to, by its number in the file.
enum class Table { chunks, clusters, anchors };

// Reads the entries (chunks, then clusters, then anchors) in pieces, checks each one's
// fields and hands it to `take(table, record, offset)`. Returns the offset after the
// last entry.
template <typename Take>
std::uint64_t read_entries(const io::Fd& fd, const std::string& name, const IndexHeader& h, Checksum& sum,
                           Take&& take)
{
    std::vector<std::uint8_t> buf(64 * 1024 * entry_size);
    std::uint64_t offset = header_size;
    for (std::uint64_t left = h.entry_count + h.cluster_count + h.anchor_count; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size() / entry_size));
        const std::span<std::uint8_t> piece(buf.data(), n * entry_size);
        io::pread_exact(fd.get(), piece, offset, name);
        sum.update(piece);
        io::ByteReader r(piece, name, offset);
        for (std::size_t i = 0; i < n; ++i, offset += entry_size) {
            const std::uint64_t hash = r.le64();
            const std::uint64_t location = r.le64();
            const std::uint64_t n_before = (offset - header_size) / entry_size;
            if (n_before >= h.entry_count + h.cluster_count) {
                // An anchor: its value is a cluster key, checked once all are read.
                if (hash == 0 || location == 0) {
                    io::throw_parse_error(name, offset, "bad chunk index anchor");
                }
                take(Table::anchors, Record{hash, location}, offset);
                continue;
            }
            const std::uint64_t length = location & length_mask;
            const std::uint64_t at = location >> length_bits;
            if (hash == 0 || length == 0 || length > h.params.max_size || at > h.content_size ||
                length > h.content_size - at) {
                io::throw_parse_error(name, offset, "bad chunk index entry");
            }
            take(n_before >= h.entry_count ? Table::clusters : Table::chunks, Record{hash, location}, offset);
        }
        left -= n;
    }
    return offset;
}

// Reads the trailing checksum (and nothing after it: the size was taken from the
// same descriptor) and compares.
void read_checksum(const io::Fd& fd, const std::string& name, std::uint64_t offset, const Checksum& sum)
{
    std::array<std::uint8_t, 8> tail{};
    io::pread_exact(fd.get(), tail, offset, name);
    if (io::load_le64(tail.data()) != sum.digest()) {
        io::throw_parse_error(name, offset, "chunk index checksum mismatch");
    }
}

// Every anchor must name a cluster of the cluster table. The anchors' clusters are
// sorted on scratch disk and walked beside the (sorted) cluster table.
void check_anchor_clusters(const ChunkIndex::Storage& storage, const std::string& name,
                           const std::filesystem::path& scratch_dir)
{
    detail::RecordSorter wanted(scratch_dir);
    {
        TableScan anchors(storage, storage.anchors);
        Record r;
        std::uint64_t offset = 0;
        while (anchors.next(r, offset)) {
            wanted.add(r.value & ~anchor_block_mask, offset);
        }
    }
    TableScan clusters(storage, storage.clusters);
    Record cluster;
    std::uint64_t at = 0;
    bool more = clusters.next(cluster, at);
    wanted.merge([&](const Record& anchor) {
        while (more && cluster.key < anchor.key) {
            more = clusters.next(cluster, at);
        }
        if (!more || cluster.key != anchor.key) {
            io::throw_parse_error(name, anchor.value, "chunk index anchor names an unknown cluster");
        }
    });
}

}  // namespace

ChunkIndex ChunkIndex::load(const std::filesystem::path& path)
{
    const std::string name = path.string();
    io::Fd fd = io::open_regular_file(path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        io::throw_errno("read chunk index", name, errno);
    }
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    Checksum sum;
    const IndexHeader h = read_header(fd, name, file_size, sum);
    const std::filesystem::path scratch_dir = std::filesystem::absolute(path).parent_path();

    auto storage = std::make_shared<Storage>();
    storage->name = name;
    std::uint64_t end = 0;
    if (h.version == index_version) {
        // Sorted already: checked as it is read, the directories noted on the way.
        std::array<detail::TableDirectory, 3> directories;
        end = read_entries(fd, name, h, sum, [&](Table t, const Record& r, std::uint64_t offset) {
            if (!directories[static_cast<std::size_t>(t)].note(r.key)) {
                io::throw_parse_error(name, offset, "chunk index entries out of order or duplicate");
            }
        });
        read_checksum(fd, name, end, sum);
        storage->fd = std::move(fd);
        storage->recheck = true;
        std::uint64_t at = header_size;
        for (auto [table, t] :
             {std::pair{&storage->chunks, Table::chunks}, std::pair{&storage->clusters, Table::clusters},
              std::pair{&storage->anchors, Table::anchors}}) {
            auto& directory = directories[static_cast<std::size_t>(t)];
            const std::uint64_t count = directory.count();
            *table = SortedTable(storage->reader(), at, count, directory.take());
            at += count * entry_size;
        }
    } else {
        // Version 2: in hash-table order. Sorted on scratch disk, as a build does.
        const detail::RecordSorter::Budget budget;
        std::array<detail::RecordSorter, 3> sorters{detail::RecordSorter(scratch_dir, budget),
                                                    detail::RecordSorter(scratch_dir, budget),
                                                    detail::RecordSorter(scratch_dir, budget)};
        end = read_entries(fd, name, h, sum, [&](Table t, const Record& r, std::uint64_t) {
            sorters[static_cast<std::size_t>(t)].add(r.key, r.value);
        });
        read_checksum(fd, name, end, sum);
        storage->scratch = std::make_unique<detail::SpillFile>(scratch_dir);
        const auto duplicate = [&](std::uint64_t table_offset) {
            return [&name, table_offset](const Record&) {
                io::throw_parse_error(name, table_offset, "duplicate chunk index entry in this table");
            };
        };
        storage->chunks = write_table(sorters[0], *storage, duplicate(header_size));
        storage->clusters =
            write_table(sorters[1], *storage, duplicate(header_size + h.entry_count * entry_size));
        storage->anchors = write_table(
            sorters[2], *storage, duplicate(header_size + (h.entry_count + h.cluster_count) * entry_size));
    }
    check_anchor_clusters(*storage, name, scratch_dir);

    ChunkIndex index(h.params);
    index.content_size_ = h.content_size;
    index.chunk_count_ = h.chunk_count;
    index.entries_ = h.entry_count;
    index.clusters_ = h.cluster_count;
    index.anchors_ = h.anchor_count;
    index.storage_ = std::move(storage);
    return index;
}

ChunkIndex build_chunk_index(io::ByteSource& full, const ChunkParams& params, const LayoutFactory& layout,
                             const std::filesystem::path& scratch_dir, IndexBuildBudget budget)
{
    ChunkIndexBuilder builder(params, scratch_dir, budget);
    Chunker chunker(params, layout,
                    [&](const Chunk& c, std::span<const std::uint8_t> bytes) { builder.add(c, bytes); });
    std::vector<std::uint8_t> buf(io::stream_buffer_size);
    for (;;) {
        const std::size_t n = full.read(buf);
        if (n == 0) {
            break;
        }
        chunker.feed(std::span<const std::uint8_t>(buf.data(), n));
    }
    chunker.finish();
    return builder.finish(chunker.bytes());
}

}  // namespace pvediff::engine
