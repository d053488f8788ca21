// SPDX-License-Identifier: GPL-2.0-or-later
// gzip through zlib. The reader takes any number of members one after another, which
// is what pigz, `gzip -c a b` and `cat a.gz b.gz` produce; the writer makes one member
// with a standard header and CRC-32/size trailer, like `gzip -6`.
#include <zlib.h>

#include "codec_streams.h"
#include "pvediff/io/error.h"

namespace pvediff::io::detail {

namespace {

constexpr std::string_view gzip_codec = "gzip";
// 15 bits of window, +16: gzip header and trailer instead of zlib's.
constexpr int gzip_window_bits = 15 + 16;
constexpr std::size_t gzip_buffer_size = std::size_t{256} * 1024;

std::string zlib_message(const z_stream& zs, int ret)
{
    if (zs.msg != nullptr) {
        return zs.msg;
    }
    switch (ret) {
        case Z_MEM_ERROR:
            return "out of memory";
        case Z_NEED_DICT:
            return "stream needs a preset dictionary";
        case Z_BUF_ERROR:
            return "no progress possible";
        default:
            return fmt::format("error {}", ret);
    }
}

class GzipSource final : public ByteSource {
public:
    explicit GzipSource(std::unique_ptr<ByteSource> compressed)
        : compressed_(std::move(compressed)), input_(*compressed_, gzip_buffer_size)
    {
        const int ret = inflateInit2(&zs_, gzip_window_bits);
        if (ret != Z_OK) {
            throw file_error(name(), "gzip: cannot initialise: {}", zlib_message(zs_, ret));
        }
    }
    ~GzipSource() override { inflateEnd(&zs_); }
    GzipSource(const GzipSource&) = delete;
    GzipSource& operator=(const GzipSource&) = delete;

    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (buf.empty() || done_) {
            return 0;
        }
        zs_.next_out = buf.data();
        zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(buf.size(), 1U << 30));
        while (zs_.next_out == buf.data() && !done_) {
            if (input_.available() == 0 && !output_pending_ && !input_.refill()) {
                if (in_member_) {
                    throw_codec_error(name(), input_.offset(), gzip_codec,
                                      "unexpected end of compressed data");
                }
                done_ = true;
                break;
            }
            if (!in_member_) {
                // Between members: only another gzip member may follow.
                if (*input_.data() != 0x1F) {
                    throw_codec_error(name(), input_.offset(), gzip_codec,
                                      "trailing garbage after the compressed stream");
                }
                inflateReset(&zs_);
                in_member_ = true;
            }
            // zlib wants a non-const pointer but never writes through next_in.
            zs_.next_in = const_cast<Bytef*>(input_.data());
            zs_.avail_in = static_cast<uInt>(input_.available());
            const bool had_input = zs_.avail_in > 0;
            const int ret = inflate(&zs_, Z_NO_FLUSH);
            input_.consume(input_.available() - zs_.avail_in);
            if (ret == Z_STREAM_END) {
                in_member_ = false;
                output_pending_ = false;
                continue;
            }
            if (ret == Z_BUF_ERROR && !had_input) {
                // Nothing was left inside zlib after a full output buffer.
                output_pending_ = false;
                continue;
            }
            if (ret != Z_OK) {
                throw_codec_error(name(), input_.offset(), gzip_codec, zlib_message(zs_, ret));
            }
            // A full output buffer may leave decoded bytes inside zlib.
            output_pending_ = zs_.avail_out == 0;
        }
        return static_cast<std::size_t>(zs_.next_out - buf.data());
    }

    [[nodiscard]] const std::string& name() const override { return compressed_->name(); }

private:
    std::unique_ptr<ByteSource> compressed_;
    InputBuffer input_;
    z_stream zs_{};
    // An empty input is not a gzip stream.
    bool in_member_ = true;
    bool output_pending_ = false;
    bool done_ = false;
};

class GzipSink final : public ByteSink {
public:
    GzipSink(std::unique_ptr<ByteSink> out, const CompressOptions& options)
        : out_(std::move(out)), buf_(gzip_buffer_size)
    {
        const int level = options.level == 0 ? 6 : options.level;
        if (level < 1 || level > 9) {
            throw Error(fmt::format("gzip: invalid compression level {}", level));
        }
        const int ret = deflateInit2(&zs_, level, Z_DEFLATED, gzip_window_bits, 8, Z_DEFAULT_STRATEGY);
        if (ret != Z_OK) {
            throw file_error(name(), "gzip: cannot initialise: {}", zlib_message(zs_, ret));
        }
    }
    ~GzipSink() override { deflateEnd(&zs_); }
    GzipSink(const GzipSink&) = delete;
    GzipSink& operator=(const GzipSink&) = delete;

    void write(std::span<const std::uint8_t> data) override
    {
        check_not_finished(finished_, name());
        while (!data.empty()) {
            // avail_in is 32 bits: feed huge spans in slices.
            const std::size_t n = std::min<std::size_t>(data.size(), 1U << 30);
            zs_.next_in = const_cast<Bytef*>(data.data());
            zs_.avail_in = static_cast<uInt>(n);
            while (zs_.avail_in > 0) {
                deflate_step(Z_NO_FLUSH);
            }
            data = data.subspan(n);
        }
    }

    void finish() override
    {
        check_not_finished(finished_, name());
        zs_.next_in = nullptr;
        zs_.avail_in = 0;
        while (deflate_step(Z_FINISH) != Z_STREAM_END) {
        }
        finished_ = true;
        out_->finish();
    }

    [[nodiscard]] const std::string& name() const override { return out_->name(); }

private:
    int deflate_step(int flush)
    {
        zs_.next_out = buf_.data();
        zs_.avail_out = static_cast<uInt>(buf_.size());
        const int ret = deflate(&zs_, flush);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
            throw file_error(name(), "gzip: {}", zlib_message(zs_, ret));
        }
        const std::size_t produced = buf_.size() - zs_.avail_out;
        if (produced > 0) {
            out_->write(std::span(buf_).first(produced));
        }
        return ret;
    }

    std::unique_ptr<ByteSink> out_;
    std::vector<std::uint8_t> buf_;
    z_stream zs_{};
    bool finished_ = false;
};

}  // namespace

std::unique_ptr<ByteSource> make_gzip_decompressor(std::unique_ptr<ByteSource> compressed)
{
    return std::make_unique<GzipSource>(std::move(compressed));
}

std::unique_ptr<ByteSink> make_gzip_compressor(std::unique_ptr<ByteSink> out, const CompressOptions& options)
{
    return std::make_unique<GzipSink>(std::move(out), options);
}

}  // namespace pvediff::io::detail
