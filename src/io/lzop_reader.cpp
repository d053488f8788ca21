// SPDX-License-Identifier: GPL-2.0-or-later
// Reader of lzop files (format in lzop_format.h) on liblzo2. Every checksum the file
// carries is verified, every length is bounded before anything is allocated, and
// LZO data is only ever decoded with lzo1x_decompress_safe.
#include <lzo/lzo1x.h>

#include <cstdio>
#include <cstring>

#include "codec_streams.h"
#include "lzop_format.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::io::detail {

namespace {

using namespace lzop;

constexpr std::string_view lzop_codec = "lzop";

std::string hex(std::uint32_t value)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", value);
    return buf;
}

// adler32 or crc32, whichever the flags ask for; both as lzop (and zlib) compute them.
class Checksum {
public:
    explicit Checksum(bool crc32) : crc32_(crc32), value_(crc32 ? 0 : 1) {}
    void update(std::span<const std::uint8_t> data)
    {
        value_ = crc32_ ? lzo_crc32(value_, data.data(), data.size())
                        : lzo_adler32(value_, data.data(), data.size());
    }
    [[nodiscard]] std::uint32_t value() const { return value_; }

private:
    bool crc32_;
    std::uint32_t value_;
};

std::uint32_t adler32_of(std::span<const std::uint8_t> data)
{
    Checksum c(false);
    c.update(data);
    return c.value();
}

std::uint32_t crc32_of(std::span<const std::uint8_t> data)
{
    Checksum c(true);
    c.update(data);
    return c.value();
}

class LzopSource final : public ByteSource {
public:
    explicit LzopSource(std::unique_ptr<ByteSource> compressed)
        : compressed_(std::move(compressed)), input_(*compressed_, block_size)
    {
        if (lzo_init() != LZO_E_OK) {
            throw file_error(name(), "lzop: cannot initialise liblzo2");
        }
    }

    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (buf.empty()) {
            return 0;
        }
        while (plain_pos_ == plain_len_) {
            if (!next_block()) {
                return 0;
            }
        }
        const std::size_t n = std::min(buf.size(), plain_len_ - plain_pos_);
        std::memcpy(buf.data(), plain_.data() + plain_pos_, n);
        plain_pos_ += n;
        return n;
    }

    [[nodiscard]] const std::string& name() const override { return compressed_->name(); }

private:
    [[noreturn]] void fail(std::uint64_t offset, const std::string& message) const
    {
        throw_codec_error(name(), offset, lzop_codec, message);
    }

    void read_exact(std::span<std::uint8_t> out)
    {
        if (!input_.read_exact(out)) {
            fail(input_.offset(), "unexpected end of compressed data");
        }
    }

    std::uint32_t read_u32()
    {
        std::array<std::uint8_t, 4> b{};
        read_exact(b);
        return load_be32(b.data());
    }

    // Header fields are collected as read, so their checksum can be computed once
    // the flags say which one it is.
    template <std::size_t N>
    std::uint64_t header_field(std::vector<std::uint8_t>& header)
    {
        std::array<std::uint8_t, N> b{};
        read_exact(b);
        header.insert(header.end(), b.begin(), b.end());
        if constexpr (N == 1) {
            return b[0];
        } else if constexpr (N == 2) {
            return load_be16(b.data());
        } else {
            static_assert(N == 4);
            return load_be32(b.data());
        }
    }

    // Returns false at the clean end of the input, after at least one whole file.
    bool read_header()
    {
        const std::uint64_t start = input_.offset();
        if (files_ > 0 && !input_.refill()) {
            return false;
        }
        std::array<std::uint8_t, magic.size()> m{};
        const bool complete = input_.read_exact(m);
        if (!complete || m != magic) {
            if (files_ > 0) {
                fail(start, "trailing garbage after the compressed stream");
            }
            if (!complete) {
                fail(input_.offset(), "unexpected end of compressed data");
            }
            fail(start, "not an lzop file (bad magic)");
        }

        std::vector<std::uint8_t> header;
        const auto file_version = static_cast<std::uint16_t>(header_field<2>(header));
        header_field<2>(header);  // version of liblzo2 that wrote it
        const bool modern = file_version >= version_with_level;
        if (file_version < 0x0900) {
            fail(start, "unsupported lzop format version " + hex(file_version));
        }
        if (modern) {
            const auto needed = static_cast<std::uint16_t>(header_field<2>(header));
            if (needed > version || needed < 0x0900) {
                fail(start, "file needs lzop version " + hex(needed) + ", only up to " + hex(version) +
                                " is supported");
            }
        }
        method_ = static_cast<std::uint8_t>(header_field<1>(header));
        if (modern) {
            header_field<1>(header);  // level: informative only
        }
        flags_ = static_cast<std::uint32_t>(header_field<4>(header));
        std::uint32_t filter = 0;
        if ((flags_ & F_H_FILTER) != 0) {
            filter = static_cast<std::uint32_t>(header_field<4>(header));
        }
        header_field<4>(header);  // mode
        header_field<4>(header);  // mtime, low 32 bits
        if (modern) {
            header_field<4>(header);  // mtime, high 32 bits
        }
        const auto name_len = static_cast<std::size_t>(header_field<1>(header));
        std::vector<std::uint8_t> file_name(name_len);
        read_exact(file_name);
        header.insert(header.end(), file_name.begin(), file_name.end());

        const bool crc = (flags_ & F_H_CRC32) != 0;
        Checksum header_sum(crc);
        header_sum.update(header);
        const std::uint64_t sum_offset = input_.offset();
        if (read_u32() != header_sum.value()) {
            fail(sum_offset, "header checksum mismatch (corrupt header)");
        }
        // Refusals come after the checksum, so a corrupt header is reported as such.
        if (method_ != M_LZO1X_1 && method_ != M_LZO1X_1_15 && method_ != M_LZO1X_999) {
            fail(start, fmt::format("unsupported compression method {}", method_));
        }
        if ((flags_ & F_RESERVED) != 0) {
            fail(start, "unknown flags " + hex(flags_ & F_RESERVED));
        }
        if ((flags_ & F_MULTIPART) != 0) {
            fail(start, "multipart lzop files are not supported");
        }
        if ((flags_ & F_H_FILTER) != 0) {
            fail(start, fmt::format("lzop filter {} is not supported", filter));
        }
        if ((flags_ & F_H_EXTRA_FIELD) != 0) {
            skip_extra_field(crc);
        }
        return true;
    }

    // lzop writes no extra field itself and ignores one when reading; so do we, after
    // checking its checksum (which covers its length too). Streamed, never allocated.
    void skip_extra_field(bool crc)
    {
        std::array<std::uint8_t, 4> len_bytes{};
        read_exact(len_bytes);
        Checksum sum(crc);
        sum.update(len_bytes);
        std::uint32_t left = load_be32(len_bytes.data());
        std::array<std::uint8_t, 4096> chunk{};
        while (left > 0) {
            const std::size_t n = std::min<std::size_t>(left, chunk.size());
            read_exact(std::span(chunk).first(n));
            sum.update(std::span(chunk).first(n));
            left -= static_cast<std::uint32_t>(n);
        }
        const std::uint64_t sum_offset = input_.offset();
        if (read_u32() != sum.value()) {
            fail(sum_offset, "extra field checksum mismatch");
        }
    }

    void verify(bool present, std::uint32_t expected, std::uint32_t actual, std::uint64_t offset,
                const char* what) const
    {
        if (present && expected != actual) {
            fail(offset, std::string("checksum mismatch: ") + what + " (corrupt data)");
        }
    }

    // Decodes the next block into plain_; false at the end of the last file.
    bool next_block()
    {
        for (;;) {
            if (!in_file_) {
                if (!read_header()) {
                    return false;
                }
                in_file_ = true;
            }
            const std::uint64_t block_start = input_.offset();
            const std::uint32_t ulen = read_u32();
            if (ulen == 0) {
                in_file_ = false;
                ++files_;
                continue;
            }
            if (ulen > max_block_size) {
                fail(block_start,
                     fmt::format("block of {} bytes exceeds the maximum of 64 MiB (corrupt data)", ulen));
            }
            const std::uint32_t clen = read_u32();
            if (clen == 0 || clen > ulen) {
                fail(block_start,
                     fmt::format("bad compressed block length {} for {} bytes (corrupt data)", clen, ulen));
            }
            const bool packed = clen < ulen;
            const bool adler_d = (flags_ & F_ADLER32_D) != 0;
            const bool crc_d = (flags_ & F_CRC32_D) != 0;
            const bool adler_c = packed && (flags_ & F_ADLER32_C) != 0;
            const bool crc_c = packed && (flags_ & F_CRC32_C) != 0;
            const std::uint32_t d_adler = adler_d ? read_u32() : 0;
            const std::uint32_t d_crc = crc_d ? read_u32() : 0;
            const std::uint32_t c_adler = adler_c ? read_u32() : 0;
            const std::uint32_t c_crc = crc_c ? read_u32() : 0;

            const std::uint64_t data_offset = input_.offset();
            plain_.resize(std::max<std::size_t>(plain_.size(), ulen));
            if (packed) {
                packed_.resize(std::max<std::size_t>(packed_.size(), clen));
                const std::span<std::uint8_t> data(packed_.data(), clen);
                read_exact(data);
                verify(adler_c, c_adler, adler_c ? adler32_of(data) : 0, data_offset,
                       "adler32 of compressed block");
                verify(crc_c, c_crc, crc_c ? crc32_of(data) : 0, data_offset, "crc32 of compressed block");
                lzo_uint out_len = ulen;
                const int r = lzo1x_decompress_safe(data.data(), clen, plain_.data(), &out_len, nullptr);
                if (r != LZO_E_OK || out_len != ulen) {
                    fail(data_offset, fmt::format("lzo1x: corrupt compressed block (error {})", r));
                }
            } else {
                read_exact(std::span(plain_.data(), ulen));
            }
            const std::span<const std::uint8_t> plain(plain_.data(), ulen);
            verify(adler_d, d_adler, adler_d ? adler32_of(plain) : 0, data_offset,
                   "adler32 of uncompressed block");
            verify(crc_d, d_crc, crc_d ? crc32_of(plain) : 0, data_offset, "crc32 of uncompressed block");
            plain_pos_ = 0;
            plain_len_ = ulen;
            return true;
        }
    }

    std::unique_ptr<ByteSource> compressed_;
    InputBuffer input_;
    std::uint8_t method_ = 0;
    std::uint32_t flags_ = 0;
    bool in_file_ = false;
    std::uint64_t files_ = 0;
    // Grown to the largest block seen (at most max_block_size), then reused.
    std::vector<std::uint8_t> packed_;
    std::vector<std::uint8_t> plain_;
    std::size_t plain_pos_ = 0;
    std::size_t plain_len_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> make_lzop_decompressor(std::unique_ptr<ByteSource> compressed)
{
    return std::make_unique<LzopSource>(std::move(compressed));
}

}  // namespace pvediff::io::detail
