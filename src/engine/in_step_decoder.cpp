// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/in_step_decoder.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "vcdiff_reader.h"

namespace pvediff::engine {

RecentBytes::RecentBytes(io::ByteSource& inner, std::size_t keep) : inner_(inner), ring_(keep)
{
}

std::size_t RecentBytes::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = inner_.read(buf);
    // Only the last ring_.size() bytes of a large read can be kept.
    const std::size_t skip = n > ring_.size() ? n - ring_.size() : 0;
    for (std::size_t at = skip; at < n;) {
        const std::uint64_t p = read_ + at;
        const auto slot = static_cast<std::size_t>(p % ring_.size());
        const std::size_t take = std::min(n - at, ring_.size() - slot);
        std::memcpy(ring_.data() + slot, buf.data() + at, take);
        at += take;
    }
    read_ += n;
    return n;
}

bool RecentBytes::copy(std::uint64_t offset, std::span<std::uint8_t> out) const
{
    if (offset < kept_from() || offset > read_ || out.size() > read_ - offset) {
        return false;
    }
    for (std::size_t at = 0; at < out.size();) {
        const auto slot = static_cast<std::size_t>((offset + at) % ring_.size());
        const std::size_t take = std::min(out.size() - at, ring_.size() - slot);
        std::memcpy(out.data() + at, ring_.data() + slot, take);
        at += take;
    }
    return true;
}

namespace {

using vcdiff::Inst;

struct Window {
    std::uint64_t at = 0;  // of its indicator in the VCDIFF stream, for messages
    std::uint64_t number = 0;
    std::uint64_t seg_len = 0;
    std::uint64_t seg_pos = 0;
    std::uint64_t target_len = 0;
    std::uint32_t adler = 0;  // recorded
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> inst;
    std::vector<std::uint8_t> addr;
};

}  // namespace

struct InStepDecoder::State {
    State(std::unique_ptr<io::ByteSource> d, const RecentBytes& f) : delta(std::move(d)), in(*delta), full(f)
    {
    }

    std::unique_ptr<io::ByteSource> delta;
    vcdiff::StreamReader in;
    const RecentBytes& full;
    bool open = false;  // a window is being decoded
    bool ended = false;
    std::uint64_t windows = 0;
    Window w;
    vcdiff::AddressCache cache;
    std::size_t ip = 0;
    std::size_t ap = 0;
    std::size_t dp = 0;
    std::uint64_t here = 0;  // in the window's source + target address space
    std::uint32_t adler = 1;
    // Instructions of the current opcode not yet started (an opcode holds up to two).
    std::array<vcdiff::Instruction, 2> queued{};
    std::size_t queued_count = 0;
    std::size_t queued_next = 0;
    vcdiff::Instruction current{};
    std::uint64_t done = 0;  // of `current`
    std::uint8_t run_byte = 0;

    [[noreturn]] void bad(const std::string& what) const
    {
        in.fail_at(w.at, fmt::format("window {}: {}", w.number, what));
    }
    [[noreturn]] void refuse(const std::string& what) const
    {
        throw InStepRefused(fmt::format("'{}': window {}: {}: not decodable in step with the full", in.name(),
                                        w.number, what));
    }

    void read_header()
    {
        for (const std::uint8_t m : vcdiff::magic) {
            if (in.byte("header") != m) {
                in.fail_at(0, "not a VCDIFF stream");
            }
        }
        if (in.byte("header") != 0) {
            refuse("secondary compression or a code table");
        }
    }

    // False at the end of the stream.
    bool open_window()
    {
        if (in.at_end()) {
            return false;
        }
        w.at = in.offset();
        w.number = windows++;
        const std::uint8_t win = in.byte("window header");
        if (win != (vcdiff::win_source | vcdiff::win_adler32) && win != vcdiff::win_adler32) {
            refuse("a window with a target segment, or without its Adler-32");
        }
        w.seg_len = 0;
        w.seg_pos = 0;
        if (win & vcdiff::win_source) {
            w.seg_len = in.varint("window header");
            w.seg_pos = in.varint("window header");
        }
        const std::uint64_t enc_len = in.varint("window header");
        const std::uint64_t enc_start = in.offset();
        w.target_len = in.varint("window header");
        if (w.target_len > vcdiff::max_target_window || w.seg_len > vcdiff::max_segment_plus_window ||
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
            data_len > w.target_len + vcdiff::section_slack ||
            inst_len > 2 * w.target_len + vcdiff::section_slack ||
            addr_len > 5 * w.target_len + vcdiff::section_slack) {
            bad("inconsistent section lengths");
        }
        in.bytes(w.data, data_len, "data section");
        in.bytes(w.inst, inst_len, "instruction section");
        in.bytes(w.addr, addr_len, "address section");
        cache.reset();
        ip = ap = dp = 0;
        here = w.seg_len;
        adler = 1;
        queued_count = queued_next = 0;
        done = 0;
        current = {};
        return true;
    }

    void close_window()
    {
        if (queued_next != queued_count || ip != w.inst.size() || here != w.seg_len + w.target_len) {
            bad("instructions do not fill the target window");
        }
        if (ap != w.addr.size() || dp != w.data.size()) {
            bad("sections not used exactly");
        }
        if (adler != w.adler) {
            bad(fmt::format("Adler-32 {:08x} recorded, its target gives {:08x}", w.adler, adler));
        }
    }

    // Decodes the next opcode's instructions into `queued` (as walk_instructions does).
    void next_opcode()
    {
        const vcdiff::CodeEntry& e = vcdiff::default_code_table()[w.inst[ip++]];
        const std::array<Inst, 2> types = {e.type1, e.type2};
        const std::array<std::uint8_t, 2> sizes = {e.size1, e.size2};
        const std::array<std::uint8_t, 2> modes = {e.mode1, e.mode2};
        const std::uint64_t end = w.seg_len + w.target_len;
        std::uint64_t at = here;
        queued_count = queued_next = 0;
        for (std::size_t h = 0; h < 2; ++h) {
            if (types[h] == Inst::noop) {
                continue;
            }
            std::uint64_t size = sizes[h];
            if (size == 0) {
                const auto v = vcdiff::get_varint(w.inst, ip);
                if (!v) {
                    bad("truncated instruction section");
                }
                size = *v;
            }
            if (size == 0) {
                bad("empty instruction");
            }
            if (size > end - at) {
                bad("instruction beyond the end of the target window");
            }
            vcdiff::Instruction i{types[h], size, at, 0};
            if (i.type == Inst::copy) {
                const auto a = cache.decode(modes[h], at, w.addr, ap);
                if (!a) {
                    bad("invalid copy address");
                }
                i.address = *a;
            }
            queued[queued_count++] = i;
            at += size;
        }
    }

    // Starts the next instruction of the window; false when the window is done.
    bool start_instruction()
    {
        while (queued_next == queued_count) {
            if (ip >= w.inst.size()) {
                return false;
            }
            next_opcode();
        }
        current = queued[queued_next++];
        done = 0;
        switch (current.type) {
            case Inst::add:
                if (current.size > w.data.size() - dp) {
                    bad("ADD beyond the data section");
                }
                break;
            case Inst::run:
                if (dp >= w.data.size()) {
                    bad("RUN beyond the data section");
                }
                run_byte = w.data[dp++];
                break;
            case Inst::copy:
                if (current.address >= w.seg_len) {
                    refuse("a COPY from the target window");
                }
                if (current.size > w.seg_len - current.address) {
                    bad("a copy that is not within the window's source segment");
                }
                break;
            case Inst::noop:
                break;
        }
        return true;
    }

    // Some bytes of the current instruction into out (at most out.size()).
    std::size_t produce(std::span<std::uint8_t> out)
    {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), current.size - done));
        const auto piece = out.first(n);
        switch (current.type) {
            case Inst::add:
                std::memcpy(piece.data(), w.data.data() + dp, n);
                dp += n;
                break;
            case Inst::run:
                std::memset(piece.data(), run_byte, n);
                break;
            case Inst::copy: {
                const std::uint64_t from = w.seg_pos + current.address + done;
                if (!full.copy(from, piece)) {
                    refuse(fmt::format(
                        "a COPY of the full's bytes [{}, {}) outside the part of the full held ([{}, {}))",
                        from, from + n, full.kept_from(), full.read_so_far()));
                }
                break;
            }
            case Inst::noop:
                break;
        }
        adler = static_cast<std::uint32_t>(adler32_z(adler, piece.data(), piece.size()));
        done += n;
        here += n;
        return n;
    }
};

InStepDecoder::InStepDecoder(std::unique_ptr<io::ByteSource> delta, const RecentBytes& full)
    : s_(std::make_unique<State>(std::move(delta), full))
{
    s_->read_header();
}

InStepDecoder::~InStepDecoder() = default;

const std::string& InStepDecoder::name() const
{
    return s_->in.name();
}

std::size_t InStepDecoder::read(std::span<std::uint8_t> buf)
{
    State& s = *s_;
    std::size_t got = 0;
    while (got < buf.size() && !s.ended) {
        if (s.open && s.done < s.current.size) {
            got += s.produce(buf.subspan(got));
            continue;
        }
        if (s.open && s.start_instruction()) {
            continue;
        }
        if (s.open) {
            s.close_window();
            s.open = false;
        }
        s.open = s.open_window();
        s.ended = !s.open;
    }
    return got;
}

}  // namespace pvediff::engine
