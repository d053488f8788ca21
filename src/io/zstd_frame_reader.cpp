// SPDX-License-Identifier: GPL-2.0-or-later
// One zstd frame at a time: read whole, checked to be exactly one frame with a content
// checksum, decompressed in one call into a buffer reused from frame to frame.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader (stable since zstd 1.4)
#include "pvediff/io/zstd_frame_reader.h"

#include <zstd.h>

#include <vector>

#include "pvediff/io/error.h"
#include "pvediff/io/library_handles.h"

namespace pvediff::io {

namespace {

// The most a frame of max_frame_bytes can take compressed; a larger size asked for
// is refused before anything is read or allocated.
constexpr std::size_t max_compressed_bytes = ZSTD_COMPRESSBOUND(ZstdFrameReader::max_frame_bytes);

}  // namespace

struct ZstdFrameReader::Impl {
    Fd file;
    std::string name;
    ZstdDCtx dctx{ZSTD_createDCtx()};
    std::vector<std::uint8_t> compressed;
    std::vector<std::uint8_t> content;
    // The frame in `content`, if any: asked again, it costs nothing.
    bool cached = false;
    std::uint64_t cached_offset = 0;
    std::uint32_t cached_size = 0;
    std::uint64_t frames = 0;
    std::uint64_t bytes = 0;

    [[noreturn]] void fail(std::uint64_t offset, const std::string& message) const
    {
        throw_parse_error(name, offset, "zstd frame: " + message);
    }
};

ZstdFrameReader::ZstdFrameReader(Fd file, std::string name) : impl_(std::make_unique<Impl>())
{
    impl_->file = std::move(file);
    impl_->name = std::move(name);
    if (!impl_->dctx) {
        throw file_error(impl_->name, "zstd: cannot allocate a decompression context");
    }
}

ZstdFrameReader::~ZstdFrameReader() = default;

std::span<const std::uint8_t> ZstdFrameReader::frame(std::uint64_t offset, std::uint32_t size,
                                                     std::size_t expected)
{
    Impl& d = *impl_;
    if (d.cached && d.cached_offset == offset && d.cached_size == size && d.content.size() == expected) {
        return d.content;
    }
    d.cached = false;
    if (expected > max_frame_bytes) {
        d.fail(offset, fmt::format("{} bytes expected, more than the {} a frame may hold", expected,
                                   max_frame_bytes));
    }
    if (size == 0 || size > max_compressed_bytes) {
        d.fail(offset, fmt::format("compressed size {} out of range", size));
    }
    d.compressed.resize(size);
    pread_exact(d.file.get(), d.compressed, offset, d.name);
    d.bytes += size;

    const std::size_t frame_size = ZSTD_findFrameCompressedSize(d.compressed.data(), size);
    if (ZSTD_isError(frame_size) != 0U) {
        d.fail(offset,
               fmt::format("not one whole frame of {} bytes: {}", size, ZSTD_getErrorName(frame_size)));
    }
    if (frame_size != size) {
        d.fail(offset, fmt::format("the first frame ends after {} of {} bytes", frame_size, size));
    }
    ZSTD_frameHeader header{};
    if (ZSTD_getFrameHeader(&header, d.compressed.data(), size) != 0 || header.frameType != ZSTD_frame) {
        d.fail(offset, "not a zstd data frame");
    }
    // Without a checksum, damage inside the frame could decode to wrong bytes unnoticed.
    if (header.checksumFlag == 0) {
        d.fail(offset, "the frame has no content checksum");
    }
    if (header.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN && header.frameContentSize != expected) {
        d.fail(offset,
               fmt::format("the frame holds {} bytes, {} expected", header.frameContentSize, expected));
    }
    d.content.resize(expected);
    const std::size_t got =
        ZSTD_decompressDCtx(d.dctx.get(), d.content.data(), d.content.size(), d.compressed.data(), size);
    if (ZSTD_isError(got) != 0U) {
        d.fail(offset,
               fmt::format("cannot decompress ({} bytes expected): {}", expected, ZSTD_getErrorName(got)));
    }
    if (got != expected) {
        d.fail(offset, fmt::format("the frame holds {} bytes, {} expected", got, expected));
    }
    ++d.frames;
    d.cached = true;
    d.cached_offset = offset;
    d.cached_size = size;
    return d.content;
}

std::uint64_t ZstdFrameReader::frames_read() const
{
    return impl_->frames;
}

std::uint64_t ZstdFrameReader::bytes_read() const
{
    return impl_->bytes;
}

}  // namespace pvediff::io
