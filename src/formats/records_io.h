// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The byte level of the cluster records files (pvediff/formats/vma_cluster_records.h):
// the preamble, the trailer, and a writer and a reader that hash every byte they pass
// so the file's last 32 bytes can be its SHA-256. The reader never holds more than the
// largest piece its caller asks for (a caller checks a length before asking).
#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/fd.h"
#include "pvediff/io/sha256.h"

namespace pvediff::formats::records {

inline constexpr std::array<std::uint8_t, 8> magic{'P', 'V', 'D', 'X', 'V', 'M', 'A', 'C'};
inline constexpr std::uint32_t version = 1;
enum class Kind : std::uint8_t { full = 1, changed = 2 };
inline constexpr std::size_t preamble_size = 16;
inline constexpr std::uint8_t tag_end = 0;
inline constexpr std::uint8_t tag_item = 1;
inline constexpr std::size_t sums_size = 4 + 32;  // adler32, sha256
inline constexpr std::size_t extent_fixed_size = 1 + 8 + 8 + 4 + vma::extent_header_size;
inline constexpr std::size_t change_size = 1 + 1 + 4 + 2 + sums_size;
inline constexpr std::size_t trailer_size = 8 + 8 + 32 + 8;

// SHA-256 of no bytes: what a cluster with nothing stored records.
const io::Digest& empty_sha256();

// Appends to `sink`, hashing; finish() appends the hash and finishes `sink`.
class Output {
public:
    explicit Output(io::ByteSink& sink) : sink_(sink) {}
    void write(std::span<const std::uint8_t> bytes);
    void preamble(Kind kind);
    void end(std::uint64_t count, const RecordsTrailer& trailer);
    void finish();

private:
    io::ByteSink& sink_;
    io::Sha256 sha_;
};

// Reads a records file front to back through a buffer.
class Input {
public:
    explicit Input(const std::filesystem::path& path);
    // The next n bytes (hashed), valid until the next call; a parse error naming the
    // file and offset if the file ends first.
    std::span<const std::uint8_t> take(std::size_t n);
    // A bounded reader over the next n bytes (file offsets in its messages).
    io::ByteReader reader(std::size_t n);
    // Checks the preamble says this kind and version.
    void preamble(Kind kind);
    // Reads the next record's tag: true for an item, false for the end (the trailer
    // follows); a parse error for any other tag.
    bool item();
    // Reads the trailer, checks the checksum and that nothing follows; returns the
    // trailer after checking its count.
    RecordsTrailer end(std::uint64_t count);
    [[nodiscard]] std::uint64_t offset() const { return offset_; }
    [[nodiscard]] const std::string& name() const { return name_; }
    [[noreturn]] void fail(std::uint64_t offset, const std::string& message) const;

private:
    std::span<const std::uint8_t> fill(std::size_t n);

    std::string name_;
    io::Fd fd_;
    std::vector<std::uint8_t> buf_;
    std::size_t begin_ = 0;  // of the unread bytes in buf_
    std::size_t end_ = 0;
    std::uint64_t offset_ = 0;  // of buf_[begin_] in the file
    io::Sha256 sha_;
};

}  // namespace pvediff::formats::records
