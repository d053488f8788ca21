// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/in_step_decoder.h"

#include <fmt/format.h>
#include <libdeflate.h>

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
    vcdiff::PlainWindow w;
    vcdiff::InstructionCursor cursor;
    std::size_t dp = 0;
    std::uint64_t here = 0;  // in the window's source + target address space
    std::uint32_t adler = 1;
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
        vcdiff::read_plain_header(in, [&](const char* what) { refuse(what); });
    }

    // False at the end of the stream.
    bool open_window()
    {
        if (!vcdiff::read_plain_window(in, windows, w, [&](const char* what) { refuse(what); })) {
            return false;
        }
        ++windows;
        cursor.reset(w);
        dp = 0;
        here = w.seg_len;
        adler = 1;
        done = 0;
        current = {};
        return true;
    }

    void close_window()
    {
        if (here != w.seg_len + w.target_len) {
            bad("instructions do not fill the target window");
        }
        if (dp != w.data.size()) {
            bad("sections not used exactly");
        }
        if (adler != w.adler) {
            bad(fmt::format("Adler-32 {:08x} recorded, its target gives {:08x}", w.adler, adler));
        }
    }

    // Starts the next instruction of the window; false when the window is done.
    bool start_instruction()
    {
        const auto next = cursor.next([&](const char* what) { bad(what); });
        if (!next) {
            return false;
        }
        current = *next;
        done = 0;
        run_byte = vcdiff::check_plain_instruction(
            current, w, dp, [&](const char* what) { bad(what); }, [&](const char* what) { refuse(what); });
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
        adler = libdeflate_adler32(adler, piece.data(), piece.size());
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
