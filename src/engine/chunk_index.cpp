// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/chunk_index.h"

#include <xxhash.h>

#include <algorithm>
#include <array>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"

namespace pvediff::engine {

namespace {

constexpr std::array<std::uint8_t, 8> index_magic = {'P', 'V', 'D', 'X', 'C', 'I', 'D', 'X'};
constexpr std::uint32_t index_version = 2;  // 2: anchors
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

ChunkIndex::ChunkIndex(ChunkParams params) : params_(params)
{
    check_chunk_params(params_);
}

void ChunkIndex::reserve(std::vector<Slot>& table, std::uint64_t count)
{
    std::uint64_t capacity = 1024;
    while (capacity * 3 < count * 4 + 4) {
        capacity *= 2;
    }
    if (capacity <= table.size()) {
        return;
    }
    std::vector<Slot> old(static_cast<std::size_t>(capacity));
    old.swap(table);
    for (const Slot& s : old) {
        if (s.hash != 0) {
            insert(table, s.hash, s.location);
        }
    }
}

bool ChunkIndex::insert(std::vector<Slot>& table, std::uint64_t key, std::uint64_t location)
{
    const std::size_t mask = table.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(key) & mask;; i = (i + 1) & mask) {
        if (table[i].hash == 0) {
            table[i] = {key, location};
            return true;
        }
        if (table[i].hash == key) {
            return false;
        }
    }
}

std::optional<ChunkLocation> ChunkIndex::lookup(const std::vector<Slot>& table, std::uint64_t key)
{
    if (table.empty()) {
        return std::nullopt;
    }
    const std::uint64_t k = slot_hash(key);
    const std::size_t mask = table.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(k) & mask;; i = (i + 1) & mask) {
        if (table[i].hash == 0) {
            return std::nullopt;
        }
        if (table[i].hash == k) {
            return ChunkLocation{table[i].location >> length_bits,
                                 static_cast<std::uint32_t>(table[i].location & length_mask)};
        }
    }
}

void ChunkIndex::add(const Chunk& chunk, std::span<const std::uint8_t> bytes)
{
    if (chunk.offset > max_offset || chunk.length == 0 || chunk.length > params_.max_size) {
        throw io::Error(fmt::format("chunk index: chunk at offset {} out of range", chunk.offset));
    }
    ++chunk_count_;
    const std::uint64_t location = (chunk.offset << length_bits) | chunk.length;
    reserve(slots_, entries_ + 1);
    entries_ += insert(slots_, slot_hash(chunk.hash), location) ? 1 : 0;
    if (chunk.cluster_key != 0) {
        reserve(cluster_slots_, clusters_ + 1);
        clusters_ += insert(cluster_slots_, slot_hash(chunk.cluster_key), location) ? 1 : 0;
        for (std::size_t at = 0; at + anchor_block <= bytes.size(); at += anchor_block) {
            if (const auto anchor = anchor_hash(bytes.subspan(at, anchor_block))) {
                reserve(anchor_slots_, anchors_ + 1);
                // The key's low 4 bits are free: they take the block's place in the cluster.
                const std::uint64_t block_no = at / anchor_block;
                anchors_ += insert(anchor_slots_, *anchor, chunk.cluster_key | block_no) ? 1 : 0;
            }
        }
    }
}

std::optional<std::uint64_t> ChunkIndex::find_anchor(std::uint64_t anchor) const
{
    if (anchor_slots_.empty()) {
        return std::nullopt;
    }
    const std::size_t mask = anchor_slots_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(anchor) & mask;; i = (i + 1) & mask) {
        if (anchor_slots_[i].hash == 0) {
            return std::nullopt;
        }
        if (anchor_slots_[i].hash == anchor) {
            return anchor_slots_[i].location;
        }
    }
}

std::optional<ChunkLocation> ChunkIndex::find(std::uint64_t hash) const
{
    return lookup(slots_, hash);
}

std::optional<ChunkLocation> ChunkIndex::find_cluster(std::uint64_t cluster_key) const
{
    return lookup(cluster_slots_, cluster_key);
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
    auto flush = [&] {
        sum.update(buf);
        out.write(buf);
        buf.clear();
    };
    for (const auto* table : {&slots_, &cluster_slots_, &anchor_slots_}) {
        for (const Slot& s : *table) {
            if (s.hash != 0) {
                io::append_le64(buf, s.hash);
                io::append_le64(buf, s.location);
                if (buf.size() >= io::stream_buffer_size) {
                    flush();
                }
            }
        }
    }
    flush();
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
IndexHeader read_header(io::ByteSource& src, const std::string& name, std::uint64_t file_size, Checksum& sum)
{
    if (file_size < header_size + 8) {
        io::throw_parse_error(name, file_size, fmt::format("chunk index truncated: {} bytes", file_size));
    }
    std::array<std::uint8_t, header_size> bytes{};
    if (io::read_full(src, bytes) != bytes.size()) {
        io::throw_parse_error(name, 0, "chunk index truncated in its header");
    }
    sum.update(bytes);
    io::ByteReader r(bytes, name);
    if (!std::ranges::equal(r.bytes(index_magic.size()), index_magic)) {
        r.fail_at(0, "not a pvediff chunk index (bad magic)");
    }
    if (const std::uint32_t version = r.le32(); version != index_version) {
        r.fail_at(8, fmt::format("unsupported chunk index version {}", version));
    }
    if (r.le32() != 0) {
        r.fail_at(12, "unknown chunk index flags");
    }
    IndexHeader h;
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

enum class Table { chunks, clusters, anchors };

// Reads the entries (chunks, then clusters, then anchors) in pieces, checks each one's
// fields and hands it to `take(table, hash, location)`, which returns false for a
// duplicate. Returns the offset after the last entry.
template <typename Take>
std::uint64_t read_entries(io::ByteSource& src, const std::string& name, const IndexHeader& h, Checksum& sum,
                           Take&& take)
{
    std::vector<std::uint8_t> buf(64 * 1024 * entry_size);
    std::uint64_t offset = header_size;
    for (std::uint64_t left = h.entry_count + h.cluster_count + h.anchor_count; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size() / entry_size));
        const std::span<std::uint8_t> piece(buf.data(), n * entry_size);
        if (io::read_full(src, piece) != piece.size()) {
            io::throw_parse_error(name, offset, "chunk index truncated");
        }
        sum.update(piece);
        io::ByteReader r(piece, name, offset);
        for (std::size_t i = 0; i < n; ++i, offset += entry_size) {
            const std::uint64_t hash = r.le64();
            const std::uint64_t location = r.le64();
            const std::uint64_t n_before = (offset - header_size) / entry_size;
            if (n_before >= h.entry_count + h.cluster_count) {
                // An anchor: its value is a cluster key, checked once all are loaded.
                if (hash == 0 || location == 0 || !take(Table::anchors, hash, location)) {
                    io::throw_parse_error(name, offset, "bad chunk index anchor");
                }
                continue;
            }
            const std::uint64_t length = location & length_mask;
            const std::uint64_t at = location >> length_bits;
            if (hash == 0 || length == 0 || length > h.params.max_size || at > h.content_size ||
                length > h.content_size - at) {
                io::throw_parse_error(name, offset, "bad chunk index entry");
            }
            if (!take(n_before >= h.entry_count ? Table::clusters : Table::chunks, hash, location)) {
                io::throw_parse_error(name, offset, "duplicate chunk index entry");
            }
        }
        left -= n;
    }
    return offset;
}

// Reads the trailing checksum (and nothing after it) and compares.
void read_checksum(io::ByteSource& src, const std::string& name, std::uint64_t offset, const Checksum& sum)
{
    std::array<std::uint8_t, 9> tail{};
    if (io::read_full(src, tail) != 8) {
        io::throw_parse_error(name, offset, "chunk index truncated before its checksum");
    }
    if (io::load_le64(tail.data()) != sum.digest()) {
        io::throw_parse_error(name, offset, "chunk index checksum mismatch");
    }
}

}  // namespace

ChunkIndex ChunkIndex::load(const std::filesystem::path& path)
{
    const std::string name = path.string();
    std::error_code ec;
    const std::uint64_t file_size = std::filesystem::file_size(path, ec);
    if (ec) {
        io::throw_errno("read chunk index", name, ec.value());
    }
    io::FileSource src(name);
    Checksum sum;
    const IndexHeader h = read_header(src, name, file_size, sum);

    ChunkIndex index(h.params);
    index.content_size_ = h.content_size;
    reserve(index.slots_, h.entry_count);
    if (h.cluster_count > 0) {
        reserve(index.cluster_slots_, h.cluster_count);
    }
    if (h.anchor_count > 0) {
        reserve(index.anchor_slots_, h.anchor_count);
    }
    const std::uint64_t end =
        read_entries(src, name, h, sum, [&](Table t, std::uint64_t hash, std::uint64_t location) {
            auto& table = t == Table::chunks     ? index.slots_
                          : t == Table::clusters ? index.cluster_slots_
                                                 : index.anchor_slots_;
            return insert(table, hash, location);
        });
    read_checksum(src, name, end, sum);
    for (const Slot& a : index.anchor_slots_) {
        if (a.hash != 0 && !lookup(index.cluster_slots_, a.location & ~anchor_block_mask)) {
            io::throw_parse_error(name, header_size, "chunk index anchor names an unknown cluster");
        }
    }
    index.chunk_count_ = h.chunk_count;
    index.entries_ = h.entry_count;
    index.clusters_ = h.cluster_count;
    index.anchors_ = h.anchor_count;
    return index;
}

ChunkIndex build_chunk_index(io::ByteSource& full, const ChunkParams& params, const LayoutFactory& layout)
{
    ChunkIndex index(params);
    Chunker chunker(params, layout,
                    [&](const Chunk& c, std::span<const std::uint8_t> bytes) { index.add(c, bytes); });
    std::vector<std::uint8_t> buf(io::stream_buffer_size);
    for (;;) {
        const std::size_t n = full.read(buf);
        if (n == 0) {
            break;
        }
        chunker.feed(std::span<const std::uint8_t>(buf.data(), n));
    }
    chunker.finish();
    index.set_content_size(chunker.bytes());
    return index;
}

}  // namespace pvediff::engine
