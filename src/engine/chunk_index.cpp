// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/chunk_index.h"

#include <xxhash.h>

#include <array>
#include <cstring>

#include "pvediff/io/atomic_file.h"
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

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v)
{
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}
std::uint64_t get_le(const std::uint8_t* p, int bytes)
{
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) {
        v = (v << 8) | p[i];
    }
    return v;
}

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
        throw io::Error("chunk index: chunk at offset " + std::to_string(chunk.offset) + " out of range");
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
    put_u32(buf, index_version);
    put_u32(buf, 0);
    put_u32(buf, params_.min_size);
    put_u32(buf, params_.avg_size);
    put_u32(buf, params_.max_size);
    put_u32(buf, params_.boundary_ratio);
    put_u64(buf, content_size_);
    put_u64(buf, chunk_count_);
    put_u64(buf, entries_);
    put_u64(buf, clusters_);
    put_u64(buf, anchors_);
    XXH3_state_t* state = XXH3_createState();
    if (state == nullptr) {
        throw io::Error("out of memory");
    }
    XXH3_64bits_reset(state);
    auto flush = [&] {
        XXH3_64bits_update(state, buf.data(), buf.size());
        out.write(buf);
        buf.clear();
    };
    for (const auto* table : {&slots_, &cluster_slots_, &anchor_slots_}) {
        for (const Slot& s : *table) {
            if (s.hash != 0) {
                put_u64(buf, s.hash);
                put_u64(buf, s.location);
                if (buf.size() >= io::stream_buffer_size) {
                    flush();
                }
            }
        }
    }
    flush();
    const std::uint64_t sum = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    put_u64(buf, sum);
    out.write(buf);
}

void ChunkIndex::save(const std::filesystem::path& path, const io::FileMode& mode) const
{
    io::AtomicFile file(path, mode);
    save(file.sink());
    file.sink().finish();
    file.commit();
}

ChunkIndex ChunkIndex::load(const std::filesystem::path& path)
{
    const std::string name = path.string();
    std::error_code ec;
    const std::uint64_t file_size = std::filesystem::file_size(path, ec);
    if (ec) {
        io::throw_errno("read chunk index", name, ec.value());
    }
    if (file_size < header_size + 8) {
        io::throw_parse_error(name, file_size,
                              "chunk index truncated: " + std::to_string(file_size) + " bytes");
    }
    io::FileSource src(name);
    std::array<std::uint8_t, header_size> h{};
    if (io::read_full(src, h) != h.size()) {
        io::throw_parse_error(name, 0, "chunk index truncated in its header");
    }
    if (std::memcmp(h.data(), index_magic.data(), index_magic.size()) != 0) {
        io::throw_parse_error(name, 0, "not a pvediff chunk index (bad magic)");
    }
    if (get_le(h.data() + 8, 4) != index_version) {
        io::throw_parse_error(name, 8,
                              "unsupported chunk index version " + std::to_string(get_le(h.data() + 8, 4)));
    }
    if (get_le(h.data() + 12, 4) != 0) {
        io::throw_parse_error(name, 12, "unknown chunk index flags");
    }
    ChunkParams params;
    params.min_size = static_cast<std::uint32_t>(get_le(h.data() + 16, 4));
    params.avg_size = static_cast<std::uint32_t>(get_le(h.data() + 20, 4));
    params.max_size = static_cast<std::uint32_t>(get_le(h.data() + 24, 4));
    params.boundary_ratio = static_cast<std::uint32_t>(get_le(h.data() + 28, 4));
    try {
        check_chunk_params(params);
    } catch (const io::Error& e) {
        io::throw_parse_error(name, 16, e.what());
    }
    const std::uint64_t content_size = get_le(h.data() + 32, 8);
    const std::uint64_t chunk_count = get_le(h.data() + 40, 8);
    const std::uint64_t entry_count = get_le(h.data() + 48, 8);
    const std::uint64_t cluster_count = get_le(h.data() + 56, 8);
    const std::uint64_t anchor_count = get_le(h.data() + 64, 8);
    if (entry_count > chunk_count || cluster_count > chunk_count || chunk_count > content_size ||
        anchor_count > content_size / anchor_block || (anchor_count > 0 && cluster_count == 0)) {
        io::throw_parse_error(name, 40, "inconsistent chunk counts");
    }
    const std::uint64_t room = (file_size - header_size - 8) / entry_size;
    if (entry_count > room || cluster_count > room - entry_count ||
        anchor_count > room - entry_count - cluster_count ||
        header_size + (entry_count + cluster_count + anchor_count) * entry_size + 8 != file_size) {
        io::throw_parse_error(name, 48,
                              "entry counts do not match the file size " + std::to_string(file_size));
    }

    ChunkIndex index(params);
    index.content_size_ = content_size;
    reserve(index.slots_, entry_count);
    if (cluster_count > 0) {
        reserve(index.cluster_slots_, cluster_count);
    }
    if (anchor_count > 0) {
        reserve(index.anchor_slots_, anchor_count);
    }

    XXH3_state_t* state = XXH3_createState();
    if (state == nullptr) {
        throw io::Error("out of memory");
    }
    struct StateFree {
        XXH3_state_t* s;
        ~StateFree() { XXH3_freeState(s); }
    } state_guard{state};
    XXH3_64bits_reset(state);
    XXH3_64bits_update(state, h.data(), h.size());

    std::vector<std::uint8_t> buf(64 * 1024 * entry_size);
    std::uint64_t offset = header_size;
    for (std::uint64_t left = entry_count + cluster_count + anchor_count; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size() / entry_size));
        const std::span<std::uint8_t> piece(buf.data(), n * entry_size);
        if (io::read_full(src, piece) != piece.size()) {
            io::throw_parse_error(name, offset, "chunk index truncated");
        }
        XXH3_64bits_update(state, piece.data(), piece.size());
        for (std::size_t i = 0; i < n; ++i, offset += entry_size) {
            const std::uint64_t hash = get_le(piece.data() + i * entry_size, 8);
            const std::uint64_t location = get_le(piece.data() + i * entry_size + 8, 8);
            const std::uint64_t n_before = (offset - header_size) / entry_size;
            if (n_before >= entry_count + cluster_count) {
                // An anchor: its value is a cluster key, checked once all are loaded.
                if (hash == 0 || location == 0 || !insert(index.anchor_slots_, hash, location)) {
                    io::throw_parse_error(name, offset, "bad chunk index anchor");
                }
                continue;
            }
            const std::uint64_t length = location & length_mask;
            const std::uint64_t at = location >> length_bits;
            if (hash == 0 || length == 0 || length > params.max_size || at > content_size ||
                length > content_size - at) {
                io::throw_parse_error(name, offset, "bad chunk index entry");
            }
            const bool is_cluster = n_before >= entry_count;
            if (!insert(is_cluster ? index.cluster_slots_ : index.slots_, hash, location)) {
                io::throw_parse_error(name, offset, "duplicate chunk index entry");
            }
        }
        left -= n;
    }
    std::array<std::uint8_t, 9> tail{};
    if (io::read_full(src, tail) != 8) {
        io::throw_parse_error(name, offset, "chunk index truncated before its checksum");
    }
    if (get_le(tail.data(), 8) != XXH3_64bits_digest(state)) {
        io::throw_parse_error(name, offset, "chunk index checksum mismatch");
    }
    for (const Slot& a : index.anchor_slots_) {
        if (a.hash != 0 && !lookup(index.cluster_slots_, a.location & ~anchor_block_mask)) {
            io::throw_parse_error(name, header_size, "chunk index anchor names an unknown cluster");
        }
    }
    index.chunk_count_ = chunk_count;
    index.entries_ = entry_count;
    index.clusters_ = cluster_count;
    index.anchors_ = anchor_count;
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
