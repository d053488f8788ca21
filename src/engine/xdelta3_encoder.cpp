// SPDX-License-Identifier: GPL-2.0-or-later
// Plain streaming xdelta3, as `xdelta3 -e -N -B <window> -s <fifo>` does it: the full is
// a non-seekable source read strictly forward, of which only the last `source_window`
// bytes are at hand (a ring of blocks); matches further back are not found. No
// secondary compression and no application header, so that the outer codec does the
// compressing and stock `xdelta3 -d -s` reads the result.
#include <algorithm>
#include <bit>
#include <exception>
#include <vector>

#include "pvediff/engine/delta.h"
#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/io/error.h"
#include "xd3_stream.h"

namespace pvediff::engine {

namespace {

// Like xdelta3's own main for a source of unknown size: the window split in 32 blocks.
constexpr std::uint64_t ring_blocks = 32;
constexpr std::uint64_t min_block = std::uint64_t{16} * 1024;
constexpr std::uint64_t max_block = std::uint64_t{1} << 30;

// Serves xdelta3's source block requests from a FIFO ring over the full.
class SourceRing {
public:
    SourceRing(io::ByteSource& base, std::uint64_t block_size)
        : base_(base), block_size_(block_size), slots_(ring_blocks)
    {
    }

    // The xdelta3 getblk callback's body. Never throws: xdelta3 is C.
    int get(xd3_stream* stream, xd3_source* source, xoff_t blkno) noexcept
    {
        try {
            Slot& slot = slots_[blkno % ring_blocks];
            if (!slot.valid || slot.blkno != blkno) {
                if (blkno < next_blkno_) {
                    // Dropped from the ring: the full cannot be read backwards.
                    stream->msg = "non-seekable source: copy is too far back";
                    return XD3_TOOFARBACK;
                }
                while (next_blkno_ <= blkno) {
                    read_next();
                }
            }
            source->curblkno = blkno;
            source->curblk = slot.data.data();
            source->onblk = static_cast<usize_t>(slot.size);
            return 0;
        } catch (...) {
            error_ = std::current_exception();
            stream->msg = "cannot read the full";
            return XD3_INTERNAL;
        }
    }

    void rethrow_if_failed() const
    {
        if (error_) {
            std::rethrow_exception(error_);
        }
    }
    [[nodiscard]] std::uint64_t bytes_read() const { return bytes_read_; }

private:
    struct Slot {
        std::vector<std::uint8_t> data;
        std::uint64_t blkno = 0;
        std::size_t size = 0;
        bool valid = false;
    };

    void read_next()
    {
        Slot& slot = slots_[next_blkno_ % ring_blocks];
        slot.data.resize(block_size_);
        slot.size = eof_ ? 0 : io::read_full(base_, slot.data);
        eof_ = eof_ || slot.size < block_size_;
        slot.blkno = next_blkno_++;
        slot.valid = true;
        bytes_read_ += slot.size;
    }

    io::ByteSource& base_;
    std::uint64_t block_size_;
    std::vector<Slot> slots_;
    std::uint64_t next_blkno_ = 0;
    std::uint64_t bytes_read_ = 0;
    bool eof_ = false;
    std::exception_ptr error_;
};

int getblk_callback(xd3_stream* stream, xd3_source* source, xoff_t blkno)
{
    return static_cast<SourceRing*>(stream->opaque)->get(stream, source, blkno);
}

xd3_smatch_cfg match_config(int level, int& flags)
{
    // The mapping of xdelta3's -0..-9.
    if (level <= 0) {
        flags |= XD3_NOCOMPRESS;
        return XD3_SMATCH_FASTEST;
    }
    if (level == 1) {
        return XD3_SMATCH_FASTEST;
    }
    if (level == 2) {
        return XD3_SMATCH_FASTER;
    }
    if (level <= 5) {
        return XD3_SMATCH_FAST;
    }
    if (level == 6) {
        return XD3_SMATCH_DEFAULT;
    }
    return XD3_SMATCH_SLOW;
}

class Xdelta3Encoder final : public Encoder {
public:
    explicit Xdelta3Encoder(Xdelta3Options options) : options_(options) {}
    [[nodiscard]] std::string name() const override { return "xdelta3"; }
    EncodeResult encode(io::ByteSource& base, io::ByteSource& target, io::ByteSink& delta) override;

private:
    Xdelta3Options options_;
};

EncodeResult Xdelta3Encoder::encode(io::ByteSource& base, io::ByteSource& target, io::ByteSink& delta)
{
    const std::uint64_t block = std::clamp<std::uint64_t>(
        std::bit_ceil(std::max<std::uint64_t>(options_.source_window, 1) / ring_blocks), min_block,
        max_block);
    SourceRing ring(base, block);

    // 8 MiB target windows like stock xdelta3 (within the decoder's 16 MiB limit), or
    // smaller ones asked for a small target: xdelta3 sizes its tables by the window.
    const usize_t winsize =
        options_.target_window == 0
            ? XD3_DEFAULT_WINSIZE
            : static_cast<usize_t>(std::clamp<std::uint64_t>(std::bit_ceil(options_.target_window),
                                                             std::uint64_t{64} << 10, XD3_DEFAULT_WINSIZE));
    detail::Xd3StreamSettings settings;
    settings.flags = XD3_ADLER32;
    settings.winsize = winsize;
    settings.smatch_cfg = match_config(options_.level, settings.flags);
    settings.getblk = &getblk_callback;
    settings.opaque = &ring;
    detail::Xd3Stream holder("encoder", settings);
    xd3_stream* stream = holder.get();

    xd3_source source{};
    source.blksize = static_cast<usize_t>(block);
    source.name = base.name().c_str();
    source.max_winsize = block * ring_blocks;
    source.curblkno = static_cast<xoff_t>(-1);
    source.curblk = nullptr;
    if (xd3_set_source(stream, &source) != 0) {
        throw io::Error(fmt::format("xdelta3: cannot set the source: {}", stream->msg ? stream->msg : ""));
    }

    io::Sha256 sha;
    EncodeResult result;
    std::vector<std::uint8_t> in(winsize);
    std::size_t n = 0;
    auto fail = [&](int ret) {
        ring.rethrow_if_failed();
        throw io::file_error(target.name(), "xdelta3 encoding failed: {}",
                             stream->msg ? stream->msg : xd3_strerror(ret));
    };
    do {
        n = io::read_full(target, in);
        sha.update(std::span(in).first(n));
        result.target_bytes += n;
        if (n < in.size()) {
            xd3_set_flags(stream, stream->flags | XD3_FLUSH);
        }
        xd3_avail_input(stream, in.data(), static_cast<usize_t>(n));
        if (n == 0 && stream->current_window > 0) {
            break;
        }
        for (bool more = true; more;) {
            const int ret = xd3_encode_input(stream);
            switch (ret) {
                case XD3_INPUT:
                    more = false;
                    break;
                case XD3_OUTPUT:
                    delta.write(std::span<const std::uint8_t>(stream->next_out, stream->avail_out));
                    result.delta_bytes += stream->avail_out;
                    xd3_consume_output(stream);
                    break;
                case XD3_WINFINISH:
                    ++result.windows;
                    break;
                case XD3_GOTHEADER:
                case XD3_WINSTART:
                    break;
                default:
                    fail(ret);
            }
        }
    } while (n == in.size());
    if (const int ret = xd3_close_stream(stream); ret != 0) {
        fail(ret);
    }
    result.base_bytes = ring.bytes_read();
    result.target_sha256 = sha.finish();
    result.copied_bytes = stream->l_scpy;
    // Target copies (repeats within the new archive) count as neither.
    result.literal_bytes = stream->l_add + stream->l_run;
    return result;
}

}  // namespace

std::unique_ptr<Encoder> make_xdelta3_encoder(Xdelta3Options options)
{
    return std::make_unique<Xdelta3Encoder>(options);
}

}  // namespace pvediff::engine
