// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Random access into a zstd file written as independent frames (a full pvediff wrote
// in frames, formats/vma_cluster_records.h): one frame at a time, named by its place
// in the file and the size it must decompress to. The frame is read with one pread
// and decompressed whole; its content checksum (always written) is checked by libzstd.
// The last frame read is kept, so neighbours asking for the same extent cost nothing.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "pvediff/io/fd.h"

namespace pvediff::io {

class ZstdFrameReader {
public:
    // `file`: opened by the caller (the store's safe way in); `name` names it in messages.
    ZstdFrameReader(Fd file, std::string name);
    ~ZstdFrameReader();
    ZstdFrameReader(const ZstdFrameReader&) = delete;
    ZstdFrameReader& operator=(const ZstdFrameReader&) = delete;

    // The content of the frame at [offset, offset + size) of the file, which must be one
    // whole zstd frame decompressing to exactly `expected` bytes (at most
    // max_frame_bytes). Throws io::Error naming the file and the offset otherwise. The
    // span is valid until the next call.
    std::span<const std::uint8_t> frame(std::uint64_t offset, std::uint32_t size, std::size_t expected);
    // Frames decompressed and their compressed bytes read, for the output and the bench.
    [[nodiscard]] std::uint64_t frames_read() const;
    [[nodiscard]] std::uint64_t bytes_read() const;

    static constexpr std::size_t max_frame_bytes = std::size_t{64} << 20;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pvediff::io
