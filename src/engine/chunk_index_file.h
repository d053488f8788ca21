// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What the chunk index's building, saving and loading share (chunk_index.cpp,
// chunk_index_load.cpp): the sidecar's constants (its grammar is in chunk_index.h),
// its checksum, and the file the tables are in.
#include <xxhash.h>

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "pvediff/engine/chunk_index.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "record_sort.h"
#include "sorted_table.h"
#include "spill_file.h"

namespace pvediff::engine {

namespace detail {

inline constexpr std::array<std::uint8_t, 8> index_magic = {'P', 'V', 'D', 'X', 'C', 'I', 'D', 'X'};
inline constexpr std::uint32_t index_version = 5;     // 5: and its XXH3-128
inline constexpr std::uint32_t sha256_version = 4;    // 4: the content's SHA-256 in the header
inline constexpr std::uint32_t sorted_version = 3;    // 3: tables sorted by key
inline constexpr std::uint32_t unsorted_version = 2;  // 2: anchors, tables in hash-table order
// Versions 2 and 3 end their header after the counts; version 4 adds the SHA-256,
// version 5 the XXH3-128 after it.
inline constexpr std::size_t short_header_size = 8 + 4 * 6 + 8 * 5;
inline constexpr std::size_t sha256_header_size = short_header_size + 32;
inline constexpr std::size_t header_size = sha256_header_size + 16;
inline constexpr std::size_t header_size_of(std::uint32_t version)
{
    if (version >= index_version) {
        return header_size;
    }
    return version == sha256_version ? sha256_header_size : short_header_size;
}
inline constexpr std::size_t entry_size = 16;
inline constexpr std::uint64_t length_bits = 24;
inline constexpr std::uint64_t length_mask = (std::uint64_t{1} << length_bits) - 1;
inline constexpr std::uint64_t max_offset = (std::uint64_t{1} << (64 - length_bits)) - 1;  // 1 TiB

// An anchor's value: its cluster's key with the block's number in the cluster.
inline constexpr std::uint64_t anchor_block_mask = 15;

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

}  // namespace detail

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

namespace detail {

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
                        const std::function<void(const Record&)>& on_duplicate);

}  // namespace detail
}  // namespace pvediff::engine
