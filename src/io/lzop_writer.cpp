// SPDX-License-Identifier: GPL-2.0-or-later
// Writer of lzop files (format in lzop_format.h) as `lzop` writes them by default:
// LZO1X-1, 256 KiB blocks, adler32 of each uncompressed block, adler32 of the header,
// so `lzop -d` and `lzop -t` read them like their own.
#include <lzo/lzo1x.h>

#include <cstring>
#include <ctime>

#include "codec_streams.h"
#include "lzop_format.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::io::detail {

namespace {

using namespace lzop;

// lzop's levels: -1 is LZO1X-1(15), -2..-6 LZO1X-1 (recorded as level 5, as lzop
// does), -7..-9 LZO1X-999 at that level.
struct MethodChoice {
    Method method;
    std::uint8_t level;
};

MethodChoice choose_method(int level)
{
    if (level == 0) {
        level = 3;
    }
    if (level < 1 || level > 9) {
        throw Error(fmt::format("lzop: invalid compression level {}", level));
    }
    if (level == 1) {
        return {M_LZO1X_1_15, 1};
    }
    if (level <= 6) {
        return {M_LZO1X_1, 5};
    }
    return {M_LZO1X_999, static_cast<std::uint8_t>(level)};
}

class LzopSink final : public ByteSink {
public:
    LzopSink(std::unique_ptr<ByteSink> out, const CompressOptions& options)
        : out_(std::move(out)), choice_(choose_method(options.level))
    {
        if (lzo_init() != LZO_E_OK) {
            throw file_error(name(), "lzop: cannot initialise liblzo2");
        }
        pending_.reserve(block_size);
        packed_.resize(max_compressed_size(block_size));
        // lzo wants its work memory aligned like lzo_align_t; operator new aligns
        // at least as strictly.
        std::size_t work = LZO1X_1_MEM_COMPRESS;
        if (choice_.method == M_LZO1X_1_15) {
            work = LZO1X_1_15_MEM_COMPRESS;
        } else if (choice_.method == M_LZO1X_999) {
            work = LZO1X_999_MEM_COMPRESS;
        }
        work_.resize(work / sizeof(std::uint64_t) + 1);
    }

    void write(std::span<const std::uint8_t> data) override
    {
        check_not_finished(finished_, name());
        write_header_once();
        while (!data.empty()) {
            const std::size_t n = std::min(data.size(), block_size - pending_.size());
            pending_.insert(pending_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
            data = data.subspan(n);
            if (pending_.size() == block_size) {
                write_block();
            }
        }
    }

    void finish() override
    {
        check_not_finished(finished_, name());
        write_header_once();
        if (!pending_.empty()) {
            write_block();
        }
        std::vector<std::uint8_t> end;
        append_be32(end, 0);
        out_->write(end);
        finished_ = true;
        out_->finish();
    }

    [[nodiscard]] const std::string& name() const override { return out_->name(); }

private:
    void write_header_once()
    {
        if (header_written_) {
            return;
        }
        std::vector<std::uint8_t> h;
        append_be16(h, version);
        append_be16(h, static_cast<std::uint16_t>(lzo_version() & 0xFFFF));
        append_be16(h, version_needed);
        h.push_back(choice_.method);
        h.push_back(choice_.level);
        append_be32(h, F_OS_UNIX | F_ADLER32_D);
        append_be32(h, 0100644);  // mode of the file `lzop -d` creates: a regular 0644 file
        const auto now = static_cast<std::uint64_t>(std::time(nullptr));
        append_be32(h, static_cast<std::uint32_t>(now));
        append_be32(h, static_cast<std::uint32_t>(now >> 32));
        h.push_back(0);  // no file name: `lzop -d` derives it from ours
        const std::uint32_t sum = lzo_adler32(1, h.data(), h.size());
        append_be32(h, sum);
        h.insert(h.begin(), magic.begin(), magic.end());
        out_->write(h);
        header_written_ = true;
    }

    void write_block()
    {
        const std::size_t ulen = pending_.size();
        lzo_uint clen = packed_.size();
        int r = LZO_E_ERROR;
        switch (choice_.method) {
            case M_LZO1X_1:
                r = lzo1x_1_compress(pending_.data(), ulen, packed_.data(), &clen, work_.data());
                break;
            case M_LZO1X_1_15:
                r = lzo1x_1_15_compress(pending_.data(), ulen, packed_.data(), &clen, work_.data());
                break;
            case M_LZO1X_999:
                r = lzo1x_999_compress_level(pending_.data(), ulen, packed_.data(), &clen, work_.data(),
                                             nullptr, 0, nullptr, choice_.level);
                break;
        }
        if (r != LZO_E_OK) {
            throw file_error(name(), "lzop: compression failed (error {})", r);
        }
        // Incompressible blocks are stored raw, marked by equal lengths.
        const bool packed = clen < ulen;
        std::vector<std::uint8_t> head;
        append_be32(head, static_cast<std::uint32_t>(ulen));
        append_be32(head, static_cast<std::uint32_t>(packed ? clen : ulen));
        append_be32(head, lzo_adler32(1, pending_.data(), ulen));
        out_->write(head);
        out_->write(packed ? std::span<const std::uint8_t>(packed_.data(), clen)
                           : std::span<const std::uint8_t>(pending_));
        pending_.clear();
    }

    std::unique_ptr<ByteSink> out_;
    MethodChoice choice_;
    std::vector<std::uint8_t> pending_;
    std::vector<std::uint8_t> packed_;
    std::vector<std::uint64_t> work_;
    bool header_written_ = false;
    bool finished_ = false;
};

}  // namespace

std::unique_ptr<ByteSink> make_lzop_compressor(std::unique_ptr<ByteSink> out, const CompressOptions& options)
{
    return std::make_unique<LzopSink>(std::move(out), options);
}

}  // namespace pvediff::io::detail
