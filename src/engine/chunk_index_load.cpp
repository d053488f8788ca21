// SPDX-License-Identifier: GPL-2.0-or-later
// ChunkIndex::load: every check of a sidecar, and version 2 sorted on the way in.
#include <sys/stat.h>

#include <algorithm>

#include "chunk_index_file.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/io/dir_handle.h"

namespace pvediff::engine {

using detail::anchor_block_mask;
using detail::Checksum;
using detail::entry_size;
using detail::header_size;
using detail::index_magic;
using detail::index_version;
using detail::length_bits;
using detail::length_mask;
using detail::Record;
using detail::short_header_size;
using detail::sorted_version;
using detail::SortedTable;
using detail::TableScan;
using detail::unsorted_version;

namespace {

// The fixed part of the file, checked against the file's size.
struct IndexHeader {
    std::uint32_t version = 0;
    std::uint64_t size = 0;  // of the header itself, by its version
    ChunkParams params;
    std::uint64_t content_size = 0;
    std::uint64_t chunk_count = 0;
    std::uint64_t entry_count = 0;
    std::uint64_t cluster_count = 0;
    std::uint64_t anchor_count = 0;
    std::optional<io::Digest> content_sha256;
    std::optional<io::Xxh128Digest> content_xxh128;
};

// A digest field of the header: all zeros when the writer did not know it.
template <typename Digest>
std::optional<Digest> known_digest(io::ByteReader& r)
{
    Digest d{};
    const auto field = r.bytes(d.size());
    std::copy(field.begin(), field.end(), d.begin());
    if (d == Digest{}) {
        return std::nullopt;
    }
    return d;
}

// Reads and checks the header: magic, version, parameters, and counts that agree with
// each other and with the file's size (so nothing is allocated for entries that are
// not there).
IndexHeader read_header(const io::Fd& fd, const std::string& name, std::uint64_t file_size, Checksum& sum)
{
    if (file_size < short_header_size + 8) {
        io::throw_parse_error(name, file_size, fmt::format("chunk index truncated: {} bytes", file_size));
    }
    // The version decides the header's size: read the longest, use what it has.
    std::array<std::uint8_t, header_size> bytes{};
    const auto readable = static_cast<std::size_t>(std::min<std::uint64_t>(file_size - 8, header_size));
    io::pread_exact(fd.get(), std::span(bytes).first(readable), 0, name);
    io::ByteReader r(std::span<const std::uint8_t>(bytes).first(readable), name);
    if (!std::ranges::equal(r.bytes(index_magic.size()), index_magic)) {
        r.fail_at(0, "not a pvediff chunk index (bad magic)");
    }
    IndexHeader h;
    h.version = r.le32();
    if (h.version != index_version && h.version != detail::sha256_version && h.version != sorted_version &&
        h.version != unsorted_version) {
        r.fail_at(8, fmt::format("unsupported chunk index version {}", h.version));
    }
    h.size = detail::header_size_of(h.version);
    if (file_size < h.size + 8) {
        io::throw_parse_error(name, file_size, fmt::format("chunk index truncated: {} bytes", file_size));
    }
    sum.update(std::span(bytes).first(h.size));
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
    if (h.version >= detail::sha256_version) {
        h.content_sha256 = known_digest<io::Digest>(r);
    }
    if (h.version >= index_version) {
        h.content_xxh128 = known_digest<io::Xxh128Digest>(r);
    }
    if (h.entry_count > h.chunk_count || h.cluster_count > h.chunk_count || h.chunk_count > h.content_size ||
        h.anchor_count > h.content_size / anchor_block || (h.anchor_count > 0 && h.cluster_count == 0)) {
        r.fail_at(40, "inconsistent chunk counts");
    }
    const std::uint64_t room = (file_size - h.size - 8) / entry_size;
    if (h.entry_count > room || h.cluster_count > room - h.entry_count ||
        h.anchor_count > room - h.entry_count - h.cluster_count ||
        h.size + (h.entry_count + h.cluster_count + h.anchor_count) * entry_size + 8 != file_size) {
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
    std::vector<std::uint8_t> buf(std::size_t{64} * 1024 * entry_size);
    std::uint64_t offset = h.size;
    for (std::uint64_t left = h.entry_count + h.cluster_count + h.anchor_count; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size() / entry_size));
        const std::span<std::uint8_t> piece(buf.data(), n * entry_size);
        io::pread_exact(fd.get(), piece, offset, name);
        sum.update(piece);
        io::ByteReader r(piece, name, offset);
        for (std::size_t i = 0; i < n; ++i, offset += entry_size) {
            const std::uint64_t hash = r.le64();
            const std::uint64_t location = r.le64();
            const std::uint64_t n_before = (offset - h.size) / entry_size;
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

ChunkIndex ChunkIndex::load(const std::filesystem::path& path, const std::filesystem::path& scratch)
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
    const std::filesystem::path scratch_dir =
        scratch.empty() ? std::filesystem::absolute(path).parent_path() : scratch;

    auto storage = std::make_shared<Storage>();
    storage->name = name;
    std::uint64_t end = 0;
    if (h.version != unsorted_version) {
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
        std::uint64_t at = h.size;
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
        storage->chunks = write_table(sorters[0], *storage, duplicate(h.size));
        storage->clusters = write_table(sorters[1], *storage, duplicate(h.size + h.entry_count * entry_size));
        storage->anchors = write_table(sorters[2], *storage,
                                       duplicate(h.size + (h.entry_count + h.cluster_count) * entry_size));
    }
    check_anchor_clusters(*storage, name, scratch_dir);

    ChunkIndex index(h.params);
    index.content_size_ = h.content_size;
    index.content_sha256_ = h.content_sha256;
    index.content_xxh128_ = h.content_xxh128;
    index.chunk_count_ = h.chunk_count;
    index.entries_ = h.entry_count;
    index.clusters_ = h.cluster_count;
    index.anchors_ = h.anchor_count;
    index.storage_ = std::move(storage);
    return index;
}

}  // namespace pvediff::engine
