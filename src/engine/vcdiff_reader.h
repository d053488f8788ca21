// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Reading a VCDIFF stream byte by byte (engine-internal): one buffer, the offset counted
// for error messages, and the bounds every window's sections must keep. Shared by the
// scan that plans a restore (vcdiff_scan.cpp), the check of a written differential
// against its proof (proof_check.cpp) and the decoders that follow a plan-written
// differential instruction by instruction (in_step_decoder.cpp,
// changed_cluster_decoder.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pvediff/engine/vcdiff_format.h"
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

// One instruction of a window as the default code table and the sections give it.
struct Instruction {
    Inst type = Inst::noop;
    std::uint64_t size = 0;
    std::uint64_t at = 0;       // where it starts, in the window's source + target address space
    std::uint64_t address = 0;  // COPY: where it copies from, in the same space
};

// Walks a window's instruction section with the default code table, from `start` (the
// source segment's length) to `end` (that plus the target length), decoding COPY
// addresses from `addr` through `cache`, and calls on(Instruction) for each in order.
// Calls bad(message), which must throw, on a truncated section, an empty instruction,
// one beyond `end`, an undecodable address, and after the last on a window not filled
// exactly or address bytes left over. What each instruction may do beyond that (data
// section, source segment) is the caller's to check.
template <typename Bad, typename On>
void walk_instructions(std::span<const std::uint8_t> inst, std::span<const std::uint8_t> addr,
                       std::uint64_t start, std::uint64_t end, AddressCache& cache, const Bad& bad,
                       const On& on)
{
    const auto& table = default_code_table();
    std::uint64_t here = start;
    std::size_t ip = 0;
    std::size_t ap = 0;
    while (ip < inst.size()) {
        const CodeEntry& e = table[inst[ip++]];
        const std::array<Inst, 2> types = {e.type1, e.type2};
        const std::array<std::uint8_t, 2> sizes = {e.size1, e.size2};
        const std::array<std::uint8_t, 2> modes = {e.mode1, e.mode2};
        for (std::size_t h = 0; h < 2; ++h) {
            if (types[h] == Inst::noop) {
                continue;
            }
            std::uint64_t size = sizes[h];
            if (size == 0) {
                const auto v = get_varint(inst, ip);
                if (!v) {
                    bad("truncated instruction section");
                }
                size = *v;
            }
            if (size == 0) {
                bad("empty instruction");
            }
            if (size > end - here) {
                bad("instruction beyond the end of the target window");
            }
            Instruction i{types[h], size, here, 0};
            if (i.type == Inst::copy) {
                const auto a = cache.decode(modes[h], here, addr, ap);
                if (!a) {
                    bad("invalid copy address");
                }
                i.address = *a;
            }
            on(i);
            here += size;
        }
    }
    if (here != end) {
        bad("instructions do not fill the target window");
    }
    if (ap != addr.size()) {
        bad("extra bytes in the address section");
    }
}

// One window as the decoders that follow a differential instruction by instruction take
// it (in_step_decoder.cpp, changed_cluster_decoder.cpp): plain sections (no secondary
// compression), read whole and bounded per target byte as above, with xdelta3's
// Adler-32 of its target.
struct PlainWindow {
    std::uint64_t at = 0;  // of its indicator in the stream, for messages
    std::uint64_t number = 0;
    std::uint64_t seg_len = 0;
    std::uint64_t seg_pos = 0;
    std::uint64_t target_len = 0;
    std::uint32_t adler = 0;  // recorded
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> inst;
    std::vector<std::uint8_t> addr;
};

// Reads the stream's header. Calls refuse(what), which must throw, for secondary
// compression or a code table; a parse error for anything but a VCDIFF stream.
template <typename Refuse>
void read_plain_header(StreamReader& in, const Refuse& refuse)
{
    for (const std::uint8_t m : magic) {
        if (in.byte("header") != m) {
            in.fail_at(0, "not a VCDIFF stream");
        }
    }
    if (in.byte("header") != 0) {
        refuse("secondary compression or a code table");
    }
}

// Reads the next window into `w` as window `number`; false at the end of the stream.
// Calls refuse(what), which must throw, for a window with a target segment, without its
// Adler-32 or with compressed sections; a parse error naming the window's offset for
// sizes out of range or section lengths that do not add up.
template <typename Refuse>
bool read_plain_window(StreamReader& in, std::uint64_t number, PlainWindow& w, const Refuse& refuse)
{
    if (in.at_end()) {
        return false;
    }
    w.at = in.offset();
    w.number = number;
    const auto bad = [&](const char* what) {
        in.fail_at(w.at, fmt::format("window {}: {}", w.number, what));
    };
    const std::uint8_t win = in.byte("window header");
    if (win != (win_source | win_adler32) && win != win_adler32) {
        refuse("a window with a target segment, or without its Adler-32");
    }
    w.seg_len = 0;
    w.seg_pos = 0;
    if (win & win_source) {
        w.seg_len = in.varint("window header");
        w.seg_pos = in.varint("window header");
    }
    const std::uint64_t enc_len = in.varint("window header");
    const std::uint64_t enc_start = in.offset();
    w.target_len = in.varint("window header");
    if (w.target_len > max_target_window || w.seg_len > max_segment_plus_window ||
        w.seg_pos > std::numeric_limits<std::uint64_t>::max() - w.seg_len) {
        bad("sizes out of range");
    }
    if (in.byte("window header") != 0) {
        refuse("compressed sections");
    }
    const std::uint64_t data_len = in.varint("window header");
    const std::uint64_t inst_len = in.varint("window header");
    const std::uint64_t addr_len = in.varint("window header");
    w.adler = 0;
    for (int i = 0; i < 4; ++i) {
        w.adler = (w.adler << 8) | in.byte("window checksum");
    }
    if (enc_len != (in.offset() - enc_start) + data_len + inst_len + addr_len ||
        data_len > data_bytes_per_target * w.target_len + section_slack ||
        inst_len > inst_bytes_per_target * w.target_len + section_slack ||
        addr_len > addr_bytes_per_target * w.target_len + section_slack) {
        bad("inconsistent section lengths");
    }
    in.bytes(w.data, data_len, "data section");
    in.bytes(w.inst, inst_len, "instruction section");
    in.bytes(w.addr, addr_len, "address section");
    return true;
}

// The instructions of a PlainWindow one at a time, for a decoder that stops in the
// middle of a window and carries on later; the checks of walk_instructions. What an
// instruction may do beyond that (data section, source segment) is the caller's.
class InstructionCursor {
public:
    void reset(const PlainWindow& w)
    {
        w_ = &w;
        cache_.reset();
        ip_ = 0;
        ap_ = 0;
        here_ = w.seg_len;
        queued_count_ = 0;
        queued_next_ = 0;
    }
    // The next instruction; nullopt after the last one, once the instructions filled the
    // target window exactly and used up the address section. Calls bad(message), which
    // must throw, otherwise.
    template <typename Bad>
    std::optional<Instruction> next(const Bad& bad)
    {
        while (queued_next_ == queued_count_) {
            if (ip_ >= w_->inst.size()) {
                if (here_ != w_->seg_len + w_->target_len) {
                    bad("instructions do not fill the target window");
                }
                if (ap_ != w_->addr.size()) {
                    bad("sections not used exactly");
                }
                return std::nullopt;
            }
            next_opcode(bad);
        }
        return queued_[queued_next_++];
    }

private:
    // Decodes the next opcode's instructions (up to two) into queued_.
    template <typename Bad>
    void next_opcode(const Bad& bad)
    {
        const CodeEntry& e = default_code_table()[w_->inst[ip_++]];
        const std::array<Inst, 2> types = {e.type1, e.type2};
        const std::array<std::uint8_t, 2> sizes = {e.size1, e.size2};
        const std::array<std::uint8_t, 2> modes = {e.mode1, e.mode2};
        const std::uint64_t end = w_->seg_len + w_->target_len;
        queued_count_ = 0;
        queued_next_ = 0;
        for (std::size_t h = 0; h < 2; ++h) {
            if (types[h] == Inst::noop) {
                continue;
            }
            std::uint64_t size = sizes[h];
            if (size == 0) {
                const auto v = get_varint(w_->inst, ip_);
                if (!v) {
                    bad("truncated instruction section");
                }
                size = *v;
            }
            if (size == 0) {
                bad("empty instruction");
            }
            if (size > end - here_) {
                bad("instruction beyond the end of the target window");
            }
            Instruction i{types[h], size, here_, 0};
            if (i.type == Inst::copy) {
                const auto a = cache_.decode(modes[h], here_, w_->addr, ap_);
                if (!a) {
                    bad("invalid copy address");
                }
                i.address = *a;
            }
            queued_[queued_count_++] = i;
            here_ += size;
        }
    }

    const PlainWindow* w_ = nullptr;
    AddressCache cache_;
    std::size_t ip_ = 0;
    std::size_t ap_ = 0;
    std::uint64_t here_ = 0;  // where the next decoded instruction starts
    std::array<Instruction, 2> queued_{};
    std::size_t queued_count_ = 0;
    std::size_t queued_next_ = 0;
};

// What an instruction of a PlainWindow may do beyond the cursor's checks, checked
// before any of it is carried out (in_step_decoder.cpp, changed_cluster_decoder.cpp):
// ADD and RUN within what is left of the data section (`dp`: its next unread byte; a
// RUN's byte is taken here and returned), a COPY within the source segment. A COPY from
// the target window goes to refuse(what), anything outside its section to bad(what);
// both must throw.
template <typename Bad, typename Refuse>
std::uint8_t check_plain_instruction(const Instruction& i, const PlainWindow& w, std::size_t& dp,
                                     const Bad& bad, const Refuse& refuse)
{
    switch (i.type) {
        case Inst::add:
            if (i.size > w.data.size() - dp) {
                bad("ADD beyond the data section");
            }
            return 0;
        case Inst::run:
            if (dp >= w.data.size()) {
                bad("RUN beyond the data section");
            }
            return w.data[dp++];
        case Inst::copy:
            if (i.address >= w.seg_len) {
                refuse("a COPY from the target window");
            }
            if (i.size > w.seg_len - i.address) {
                bad("a copy that is not within the window's source segment");
            }
            return 0;
        case Inst::noop:
            return 0;
    }
    return 0;
}

}  // namespace pvediff::engine::vcdiff
