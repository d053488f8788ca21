// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/codec.h"

#include <algorithm>
#include <cstring>

#include "codec_streams.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"

namespace pvediff::io {

namespace detail {

void throw_codec_error(const std::string& name, std::uint64_t offset, std::string_view codec,
                       const std::string& message)
{
    throw_parse_error(name, offset, std::string(codec) + ": " + message);
}

bool InputBuffer::refill()
{
    if (pos_ < end_) {
        return true;
    }
    base_ += end_;
    pos_ = 0;
    end_ = source_.read(std::span(buf_.get(), size_));
    return end_ > 0;
}

bool InputBuffer::read_exact(std::span<std::uint8_t> out)
{
    std::size_t done = 0;
    while (done < out.size()) {
        if (!refill()) {
            return false;
        }
        const std::size_t n = std::min(out.size() - done, available());
        std::memcpy(out.data() + done, data(), n);
        consume(n);
        done += n;
    }
    return true;
}

void check_not_finished(bool finished, const std::string& name)
{
    if (finished) {
        throw file_error(name, "write after the end of the compressed stream");
    }
}

}  // namespace detail

namespace {

bool starts_with(std::span<const std::uint8_t> head, std::initializer_list<std::uint8_t> magic)
{
    return head.size() >= magic.size() && std::equal(magic.begin(), magic.end(), head.begin());
}

}  // namespace

std::string_view codec_name(Codec codec)
{
    switch (codec) {
        case Codec::none:
            return "none";
        case Codec::zstd:
            return "zstd";
        case Codec::lzo:
            return "lzo";
        case Codec::gzip:
            return "gzip";
    }
    return "unknown";
}

std::string_view codec_extension(Codec codec)
{
    switch (codec) {
        case Codec::none:
            return "";
        case Codec::zstd:
            return ".zst";
        case Codec::lzo:
            return ".lzo";
        case Codec::gzip:
            return ".gz";
    }
    return "";
}

std::optional<Codec> parse_codec(std::string_view name)
{
    // The spellings vzdump.conf's "compress:" accepts (0/1 included), plus the
    // extensions without their dot.
    if (name == "none" || name == "0") {
        return Codec::none;
    }
    if (name == "zstd" || name == "zst") {
        return Codec::zstd;
    }
    if (name == "lzo" || name == "lzop" || name == "1") {
        return Codec::lzo;
    }
    if (name == "gzip" || name == "gz") {
        return Codec::gzip;
    }
    return std::nullopt;
}

Codec detect_codec(std::span<const std::uint8_t> head)
{
    if (starts_with(head, {0x28, 0xB5, 0x2F, 0xFD})) {
        return Codec::zstd;
    }
    // A zstd stream may start with a skippable frame, magic 0x184D2A50..5F (LE).
    if (head.size() >= 4 && (head[0] & 0xF0) == 0x50 && head[1] == 0x2A && head[2] == 0x4D &&
        head[3] == 0x18) {
        return Codec::zstd;
    }
    if (starts_with(head, {0x1F, 0x8B})) {
        return Codec::gzip;
    }
    if (starts_with(head, {0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A})) {
        return Codec::lzo;
    }
    return Codec::none;
}

std::unique_ptr<ByteSource> make_decompressor(std::unique_ptr<ByteSource> compressed, Codec codec)
{
    switch (codec) {
        case Codec::none:
            return compressed;
        case Codec::zstd:
            return detail::make_zstd_decompressor(std::move(compressed));
        case Codec::lzo:
            return detail::make_lzop_decompressor(std::move(compressed));
        case Codec::gzip:
            return detail::make_gzip_decompressor(std::move(compressed));
    }
    throw Error("unknown codec");
}

std::unique_ptr<ByteSink> make_compressor(std::unique_ptr<ByteSink> out, Codec codec, CompressOptions options)
{
    switch (codec) {
        case Codec::none:
            return out;
        case Codec::zstd:
            return detail::make_zstd_compressor(std::move(out), options);
        case Codec::lzo:
            return detail::make_lzop_compressor(std::move(out), options);
        case Codec::gzip:
            return detail::make_gzip_compressor(std::move(out), options);
    }
    throw Error("unknown codec");
}

std::unique_ptr<ByteSink> make_compressor(ByteSink& out, Codec codec, CompressOptions options)
{
    return make_compressor(std::make_unique<SinkRef>(out), codec, options);
}

DecodedInput open_decompressed(const std::string& path)
{
    return open_decompressed(open_file_source(path));
}

DecodedInput open_decompressed(Fd fd, std::string name)
{
    return open_decompressed(std::make_unique<FileSource>(std::move(fd), std::move(name)));
}

DecodedInput open_decompressed(std::unique_ptr<ByteSource> raw)
{
    std::vector<std::uint8_t> head(codec_magic_size);
    head.resize(read_full(*raw, head));
    const Codec codec = detect_codec(head);
    auto replayed = std::make_unique<PrefixedSource>(std::move(head), std::move(raw));
    return {make_decompressor(std::move(replayed), codec), codec};
}

}  // namespace pvediff::io
