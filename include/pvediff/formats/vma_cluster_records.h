// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Per-cluster records of a VMA backup, kept beside it as "<backup>.pvediff-vma-clusters"
// (docs/nbd.md, "Cluster records"), so that a run whose dirty bitmap says which clusters
// changed can write, prove and digest its differential without reading the clusters
// that did not change.
//
// Two kinds:
//   - full:    every extent of a full that pvediff wrote as one zstd frame per extent
//              (VmaFramedWriter below): the extent's place in the decompressed VMA, the
//              place and length of its frame in the file, its 512-byte header as written
//              and, for each of its clusters, the Adler-32 and SHA-256 of its stored
//              blocks. A trailer gives the content's size and SHA-256. With it, any
//              extent of the full is one pread and one frame decompression away
//              (io::ZstdFrameReader), and a clean cluster's COPY is known without its bytes.
//   - changed: for a differential written from a cluster plan, the clusters it does not
//              COPY whole from its full (the clusters changed since the full), each with
//              its mask, Adler-32 and SHA-256 in the new VMA.
// Both are read front to back, in the VMA's cluster order, never held whole (a 1 TiB
// disk has 16 Mi clusters). The file ends with the SHA-256 of every byte before it;
// the reader checks it (and the trailer) at finish(): a caller trusts what it read only
// once finish() returned, so a run fails before it commits anything built on a damaged
// or foreign file. Every length read is checked before it is used (at most 59 clusters
// per extent, a frame of at most max_frame_size, offsets ascending): a crafted file
// costs an error naming it and the offset, not memory.
//
// The file (version 1; integers little-endian; docs/formats.md, "Cluster records"):
//   records  := preamble (full-body | changed-body) end trailer checksum
//   preamble := "PVDXVMAC" u32 version=1 u8 kind (1 full, 2 changed) u8[3] zero
//   full-body:= u32 vma_header_size, u64 header_frame_offset (0), u32 header_frame_size,
//               vma_header[vma_header_size], extent*
//   extent   := u8 1, u64 offset, u64 frame_offset, u32 frame_size, extent_header[512],
//               cluster[n]   (n: the header's non-zero blockinfos, in slot order; their
//                             dev_id, cluster and mask are the blockinfo's)
//   cluster  := u32 adler32, sha256[32]             (of its stored blocks)
//   changed-body := change*
//   change   := u8 1, u8 dev_id, u32 cluster, u16 mask, u32 adler32, sha256[32]
//   end      := u8 0
//   trailer  := u64 count (extents or changes), u64 content_size, content_sha256[32],
//               u64 file_size (full: the full's compressed size, the end of its last frame;
//                              changed: as the writer gives it, 0 if unknown)
//   checksum := sha256[32] of every byte before it; nothing follows.
// Offsets are stored although they follow from the lengths: the reader checks that
// extent k+1 begins where extent k ends, in the content and in the file (the header
// frame at 0), so a record never points anywhere but at its own frame.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pvediff/formats/vma.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/sha256.h"

namespace pvediff::formats {

// "<backup>.pvediff-vma-clusters"
std::filesystem::path cluster_records_path(const std::filesystem::path& backup);

struct ClusterRecord {
    std::uint8_t dev_id = 0;  // 1-based, as in the VMA
    std::uint32_t cluster = 0;
    std::uint16_t mask = 0;           // popcount(mask) * 4096 bytes are stored
    std::uint32_t adler32 = 1;        // of its stored blocks (1: nothing stored)
    io::Digest sha256{};              // of its stored blocks (SHA-256 of nothing: none)
    std::uint64_t stored_offset = 0;  // full records only: where its stored blocks begin
                                      // in the decompressed full
    [[nodiscard]] std::size_t stored_size() const;
};

struct ExtentRecord {
    std::uint64_t offset = 0;        // of its header in the decompressed full
    std::uint64_t frame_offset = 0;  // of the zstd frame that holds exactly this extent,
    std::uint32_t frame_size = 0;    // in the file, and its compressed length
    std::array<std::uint8_t, vma::extent_header_size> header{};  // as in the full
    std::vector<ClusterRecord> clusters;                         // its non-empty slots, in slot order
    [[nodiscard]] std::uint64_t length() const;                  // header and stored blocks
};

struct RecordsTrailer {
    std::uint64_t content_size = 0;  // of the whole decompressed VMA
    io::Digest content_sha256{};
    // Full records: the full's compressed size (where its last frame ends), checked by
    // the reader against the frames; a caller compares it with the full's size.
    // Changed records: the differential's size if the writer knows it, else 0.
    std::uint64_t file_size = 0;
};

// The largest frame (decompressed) a full's records may name: one extent of 59
// clusters and its header, or a VMA header (vma::max_header_size).
inline constexpr std::size_t max_frame_size = vma::max_header_size;

// Writes a decompressed VMA stream as a full: one zstd frame for the VMA header and
// one per extent (a stock `zstd -d` reads it as any zstd file), frames compressed
// on `threads` worker threads and written in order, and its full records into
// `records` (the caller commits that file after the full). Checks the stream is a
// VMA as it goes (throws io::Error naming `name` and the offset otherwise).
class VmaFramedWriter final : public io::ByteSink {
public:
    VmaFramedWriter(io::ByteSink& file, io::ByteSink& records, std::string name,
                    const io::CompressOptions& options);
    ~VmaFramedWriter() override;
    VmaFramedWriter(const VmaFramedWriter&) = delete;
    VmaFramedWriter& operator=(const VmaFramedWriter&) = delete;
    void write(std::span<const std::uint8_t> data) override;
    // Writes the last frame, the records' trailer and checksum; finishes `file` and
    // `records`.
    void finish() override;
    [[nodiscard]] const std::string& name() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Reads a full's records front to back.
class FullRecordsReader {
public:
    // Opens `path` (a regular file, not a link). Throws io::Error naming it.
    explicit FullRecordsReader(const std::filesystem::path& path);
    ~FullRecordsReader();
    FullRecordsReader(const FullRecordsReader&) = delete;
    FullRecordsReader& operator=(const FullRecordsReader&) = delete;

    // The full's VMA header as written, and its frame.
    [[nodiscard]] std::span<const std::uint8_t> vma_header() const;
    [[nodiscard]] std::uint64_t header_frame_offset() const;
    [[nodiscard]] std::uint32_t header_frame_size() const;
    // The next extent; nullopt after the last one.
    std::optional<ExtentRecord> next();
    // After next() gave nullopt: checks the file's checksum and returns the trailer.
    // Throws io::Error naming the file if anything is wrong.
    RecordsTrailer finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The changed records of a differential.
class ChangedRecordsWriter {
public:
    // Written to a temporary name beside `path`; commit() flushes and renames it.
    ChangedRecordsWriter(const std::filesystem::path& path, const io::FileMode& mode);
    ~ChangedRecordsWriter();
    ChangedRecordsWriter(const ChangedRecordsWriter&) = delete;
    ChangedRecordsWriter& operator=(const ChangedRecordsWriter&) = delete;
    // In ascending (dev_id, cluster) order; stored_offset is not kept.
    void add(const ClusterRecord& record);
    void commit(const RecordsTrailer& trailer);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class ChangedRecordsReader {
public:
    explicit ChangedRecordsReader(const std::filesystem::path& path);
    ~ChangedRecordsReader();
    ChangedRecordsReader(const ChangedRecordsReader&) = delete;
    ChangedRecordsReader& operator=(const ChangedRecordsReader&) = delete;
    // The next record (ascending order checked); nullopt after the last one.
    std::optional<ClusterRecord> next();
    RecordsTrailer finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pvediff::formats
