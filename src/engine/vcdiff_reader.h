// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Reading a VCDIFF stream byte by byte (engine-internal): one buffer, the offset counted
// for error messages, and the bounds every window's sections must keep. Shared by the
// scan that plans a restore (vcdiff_scan.cpp) and the check of a written differential
// against its proof (proof_check.cpp).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/error.h"

namespace pvediff::engine::vcdiff {

// What a window's sections can hold, per byte of its target window, when no instruction
// is empty (none is: an encoder has no reason to write one, and they would let a small
// target window carry an unbounded instruction section): the data section at most one
// byte (ADD and RUN data), the instruction section two (an instruction of one byte with
// its size), the address section five (a 32-bit address per COPY of one byte). A
// compressed section (secondary compression) is smaller than its plain form, which
// xdelta3 keeps otherwise, and it starts with that plain size: both are checked against
// these, so that neither this scan nor xdelta3's decoder allocates more per window than
// the window can legitimately need (at most 7 x 16 MiB of instructions and addresses).
constexpr std::uint64_t data_bytes_per_target = 1;
constexpr std::uint64_t inst_bytes_per_target = 2;
constexpr std::uint64_t addr_bytes_per_target = 5;
// Room for the smallest windows (a few instructions of a few bytes).
constexpr std::uint64_t section_slack = 64;
// Byte-wise reads over a ByteSource through one buffer, counting the offset.
class StreamReader {
public:
    explicit StreamReader(io::ByteSource& in) : in_(in), buf_(64 * 1024) {}

    [[nodiscard]] std::uint64_t offset() const { return offset_; }
    [[nodiscard]] const std::string& name() const { return in_.name(); }

    // False at the end of the stream.
    bool at_end() { return !fill(); }
    std::uint8_t byte(const char* what)
    {
        if (!fill()) {
            fail(std::string("truncated ") + what);
        }
        ++offset_;
        return buf_[pos_++];
    }
    std::uint64_t varint(const char* what)
    {
        std::uint64_t value = 0;
        for (int i = 0; i < 10; ++i) {
            const std::uint8_t b = byte(what);
            if (value > (std::numeric_limits<std::uint64_t>::max() >> 7)) {
                break;
            }
            value = (value << 7) | (b & 0x7F);
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        fail(std::string("invalid integer in ") + what);
    }
    void skip(std::uint64_t n, const char* what)
    {
        while (n > 0) {
            if (!fill()) {
                fail(std::string("truncated ") + what);
            }
            const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - pos_));
            pos_ += take;
            offset_ += take;
            n -= take;
        }
    }
    // Reads n bytes into out; grows `out` only as data arrives.
    void bytes(std::vector<std::uint8_t>& out, std::uint64_t n, const char* what)
    {
        out.clear();
        while (out.size() < n) {
            if (!fill()) {
                fail(std::string("truncated ") + what);
            }
            const std::size_t take =
                static_cast<std::size_t>(std::min<std::uint64_t>(n - out.size(), end_ - pos_));
            out.insert(out.end(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_),
                       buf_.begin() + static_cast<std::ptrdiff_t>(pos_ + take));
            pos_ += take;
            offset_ += take;
        }
    }
    [[noreturn]] void fail(const std::string& message) const
    {
        io::throw_parse_error(in_.name(), offset_, message);
    }
    [[noreturn]] void fail_at(std::uint64_t offset, const std::string& message) const
    {
        io::throw_parse_error(in_.name(), offset, message);
    }

private:
    bool fill()
    {
        if (pos_ < end_) {
            return true;
        }
        if (eof_) {
            return false;
        }
        end_ = in_.read(buf_);
        pos_ = 0;
        eof_ = end_ == 0;
        return !eof_;
    }

    io::ByteSource& in_;
    std::vector<std::uint8_t> buf_;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
    std::uint64_t offset_ = 0;
    bool eof_ = false;
};

}  // namespace pvediff::engine::vcdiff
