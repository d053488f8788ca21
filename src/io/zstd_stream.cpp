// SPDX-License-Identifier: GPL-2.0-or-later
// zstd through libzstd's streaming API, reading and writing what the zstd CLI does:
// any number of concatenated frames (skippable ones included), content checksums on.
#include <zstd.h>
#include <zstd_errors.h>

#include "codec_streams.h"
#include "pvediff/io/error.h"
#include "pvediff/io/library_handles.h"

namespace pvediff::io::detail {

namespace {

constexpr std::string_view zstd_codec = "zstd";
// The largest window a frame may ask for: 2^27 = 128 MiB, the zstd command's own
// default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT). vzdump runs zstd without --long, whose
// levels use 8 MiB windows at most, so no archive it writes needs more. A larger window
// is memory the frame header alone makes us reserve (2 GiB for `zstd --long=31`): a
// crafted 95 KB file must not make a check or restore take gigabytes.
constexpr int max_window_log = 27;

class ZstdSource final : public ByteSource {
public:
    explicit ZstdSource(std::unique_ptr<ByteSource> compressed)
        : compressed_(std::move(compressed)),
          input_(*compressed_, ZSTD_DStreamInSize()),
          dctx_(ZSTD_createDCtx())
    {
        if (!dctx_) {
            throw file_error(name(), "zstd: cannot allocate a decompression context");
        }
        check(ZSTD_DCtx_setParameter(dctx_.get(), ZSTD_d_windowLogMax, max_window_log));
    }

    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (buf.empty() || done_) {
            return 0;
        }
        ZSTD_outBuffer out{buf.data(), buf.size(), 0};
        while (out.pos == 0) {
            // Between frames zstd holds nothing back, so only input can follow.
            if (input_.available() == 0 && !input_ended_ && (!output_pending_ || !in_frame_)) {
                input_ended_ = !input_.refill();
            }
            if (input_.available() == 0 && !in_frame_) {
                done_ = true;
                return 0;
            }
            ZSTD_inBuffer in{input_.data(), input_.available(), 0};
            const bool at_frame_start = !in_frame_;
            const std::size_t ret = ZSTD_decompressStream(dctx_.get(), &out, &in);
            if (ZSTD_isError(ret)) {
                if (at_frame_start && frames_ > 0 && ZSTD_getErrorCode(ret) == ZSTD_error_prefix_unknown) {
                    throw_codec_error(name(), input_.offset(), zstd_codec,
                                      "trailing garbage after the compressed stream");
                }
                if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge) {
                    throw_codec_error(
                        name(), input_.offset() + in.pos, zstd_codec,
                        "the frame needs a window larger than 128 MiB (made with zstd --long?); "
                        "pvediff refuses it, as zstd -d does without --memory: vzdump never "
                        "writes such frames, recompress the file without --long");
                }
                throw_codec_error(name(), input_.offset() + in.pos, zstd_codec, ZSTD_getErrorName(ret));
            }
            input_.consume(in.pos);
            in_frame_ = ret != 0;
            if (!in_frame_) {
                ++frames_;
            }
            // A full output buffer may leave decoded bytes inside zstd: drain those
            // before asking for more input.
            output_pending_ = out.pos == out.size;
            // zstd goes on while it can; a call that moved nothing at the end of the
            // input means the frame is cut short.
            if (input_ended_ && in_frame_ && in.pos == 0 && out.pos == 0) {
                throw_codec_error(name(), input_.offset(), zstd_codec, "unexpected end of compressed data");
            }
        }
        return out.pos;
    }

    [[nodiscard]] const std::string& name() const override { return compressed_->name(); }

private:
    void check(std::size_t ret) const
    {
        if (ZSTD_isError(ret)) {
            throw file_error(name(), "zstd: {}", ZSTD_getErrorName(ret));
        }
    }

    std::unique_ptr<ByteSource> compressed_;
    InputBuffer input_;
    ZstdDCtx dctx_;
    // An empty input is not a zstd stream: start as if inside a frame.
    bool in_frame_ = true;
    bool output_pending_ = false;
    bool input_ended_ = false;
    bool done_ = false;
    std::uint64_t frames_ = 0;
};

class ZstdSink final : public ByteSink {
public:
    ZstdSink(std::unique_ptr<ByteSink> out, const CompressOptions& options)
        : out_(std::move(out)),
          buf_(ZSTD_CStreamOutSize()),
          cctx_(ZSTD_createCCtx()),
          threads_(options.threads),
          small_level_(options.small_level),
          small_bytes_(options.small_level != 0 ? options.small_bytes : 0)
    {
        if (!cctx_) {
            throw file_error(name(), "zstd: cannot allocate a compression context");
        }
        const int level = options.level == 0 ? 3 : options.level;
        for (const int l : {level, small_bytes_ > 0 ? small_level_ : level}) {
            if (l < ZSTD_minCLevel() || l > ZSTD_maxCLevel()) {
                throw Error(fmt::format("zstd: invalid compression level {}", l));
            }
        }
        if (options.threads < 1) {
            throw Error(fmt::format("zstd: invalid thread count {}", options.threads));
        }
        check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level));
        // The zstd CLI writes a content checksum by default; so do we, so that
        // `zstd -t` and our own reader catch corruption of the data itself.
        check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1));
        if (options.threads > 1) {
            check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_nbWorkers, options.threads));
        } else if (options.window_log > 0) {
            check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_windowLog, options.window_log));
        }
    }

    void write(std::span<const std::uint8_t> data) override
    {
        check_not_finished(finished_, name());
        if (small_bytes_ > 0) {
            if (held_.size() + data.size() <= small_bytes_) {
                held_.insert(held_.end(), data.begin(), data.end());
                return;
            }
            // Not a small stream after all: what was held goes first, at the level set,
            // with the block boundaries marked in it.
            small_bytes_ = 0;
            std::size_t from = 0;
            for (const std::size_t at : held_boundaries_) {
                write(std::span(held_).subspan(from, at - from));
                mark_boundary();
                from = at;
            }
            write(std::span(held_).subspan(from));
            held_ = {};
            held_boundaries_ = {};
        }
        ZSTD_inBuffer in{data.data(), data.size(), 0};
        while (in.pos < in.size) {
            compress(in, ZSTD_e_continue);
        }
    }

    void finish() override
    {
        check_not_finished(finished_, name());
        ZSTD_inBuffer in{nullptr, 0, 0};
        if (small_bytes_ > 0) {
            // The whole stream is held: the small level, with tables sized for it.
            check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, small_level_));
            check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_windowLog, 0));  // the level's
            check(ZSTD_CCtx_setPledgedSrcSize(cctx_.get(), held_.size()));
            in = ZSTD_inBuffer{held_.data(), held_.size(), 0};
        }
        while (compress(in, ZSTD_e_end) != 0) {
        }
        finished_ = true;
        out_->finish();
    }

    // Ends the block: what follows starts a new one, which zstd stores raw or compresses
    // on its own merits. Kept for later while a stream that may be small is held (the
    // first MiB of a differential, a whole one of 1 MiB or less: compressed at once at
    // the end); ignored with worker threads, where a flush ends a worker's job early.
    void mark_boundary() override
    {
        check_not_finished(finished_, name());
        if (threads_ > 1) {
            return;
        }
        if (small_bytes_ > 0) {
            if (held_boundaries_.empty() || held_boundaries_.back() != held_.size()) {
                held_boundaries_.push_back(held_.size());
            }
            return;
        }
        ZSTD_inBuffer in{nullptr, 0, 0};
        while (compress(in, ZSTD_e_flush) != 0) {
        }
    }

    [[nodiscard]] const std::string& name() const override { return out_->name(); }

private:
    std::size_t compress(ZSTD_inBuffer& in, ZSTD_EndDirective mode)
    {
        ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
        const std::size_t remaining = ZSTD_compressStream2(cctx_.get(), &out, &in, mode);
        check(remaining);
        if (out.pos > 0) {
            out_->write(std::span(buf_).first(out.pos));
        }
        return remaining;
    }

    void check(std::size_t ret) const
    {
        if (ZSTD_isError(ret)) {
            throw file_error(name(), "zstd: {}", ZSTD_getErrorName(ret));
        }
    }

    std::unique_ptr<ByteSink> out_;
    std::vector<std::uint8_t> buf_;
    ZstdCCtx cctx_;
    int threads_;
    int small_level_;
    std::size_t small_bytes_;  // 0 once the stream is known not to be small
    std::vector<std::uint8_t> held_;
    std::vector<std::size_t> held_boundaries_;  // mark_boundary() while holding, in held_'s bytes
    bool finished_ = false;
};

}  // namespace

std::unique_ptr<ByteSource> make_zstd_decompressor(std::unique_ptr<ByteSource> compressed)
{
    return std::make_unique<ZstdSource>(std::move(compressed));
}

std::unique_ptr<ByteSink> make_zstd_compressor(std::unique_ptr<ByteSink> out, const CompressOptions& options)
{
    return std::make_unique<ZstdSink>(std::move(out), options);
}

}  // namespace pvediff::io::detail
