// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/vcdiff_writer.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <array>

#include "pvediff/io/error.h"

namespace pvediff::engine {

namespace {

using vcdiff::Inst;

constexpr int mode_count = 2 + vcdiff::near_cache_size + vcdiff::same_cache_size;
constexpr std::uint64_t same_slots = std::uint64_t{vcdiff::same_cache_size} * 256;
// A data section this long is written as a block of its own. Smaller ones (an extent
// header's new fields, a few short ADDs) compress with the instructions around them;
// 4 KiB and 64 KiB gave the same sizes on the 32 GiB guest's differential.
constexpr std::size_t literal_block_bytes = 4096;

// Opcodes of the default code table, looked up by what they encode, so the writer
// never hard-codes table positions. -1 = no such opcode.
struct OpcodeMap {
    std::array<int, 18> add{};                           // ADD of size 0 (explicit) or 1..17
    std::array<std::array<int, 19>, mode_count> copy{};  // COPY size 0 (explicit) or 4..18
    int run = -1;
    // ADD(1..4) followed by COPY(4..6) of mode m.
    std::array<std::array<std::array<int, 7>, 5>, mode_count> add_copy{};
};

OpcodeMap build_opcode_map()
{
    OpcodeMap m;
    m.add.fill(-1);
    for (auto& row : m.copy) {
        row.fill(-1);
    }
    for (auto& per_mode : m.add_copy) {
        for (auto& row : per_mode) {
            row.fill(-1);
        }
    }
    const auto& table = vcdiff::default_code_table();
    for (int i = 0; i < 256; ++i) {
        const auto& e = table[static_cast<std::size_t>(i)];
        if (e.type2 == Inst::noop) {
            if (e.type1 == Inst::run && e.size1 == 0) {
                m.run = i;
            } else if (e.type1 == Inst::add && e.size1 < 18) {
                m.add[e.size1] = i;
            } else if (e.type1 == Inst::copy && e.size1 < 19) {
                m.copy[e.mode1][e.size1] = i;
            }
        } else if (e.type1 == Inst::add && e.type2 == Inst::copy && e.size1 <= 4 && e.size2 <= 6) {
            m.add_copy[e.mode2][e.size1][e.size2] = i;
        }
    }
    return m;
}

const OpcodeMap& opcodes()
{
    static const OpcodeMap map = build_opcode_map();
    return map;
}

// The encoder's side of the RFC 3284 address cache: picks the cheapest mode.
class AddressEncoder {
public:
    void reset()
    {
        near_.fill(0);
        same_.fill(0);
        next_ = 0;
    }
    // Appends the address to `out`; returns the mode.
    std::uint8_t encode(std::uint64_t addr, std::uint64_t here, std::vector<std::uint8_t>& out)
    {
        std::uint8_t mode = vcdiff::mode_self;
        std::uint64_t value = addr;
        std::size_t best = vcdiff::varint_size(addr);
        if (here >= addr && vcdiff::varint_size(here - addr) < best) {
            mode = vcdiff::mode_here;
            value = here - addr;
            best = vcdiff::varint_size(value);
        }
        for (int i = 0; i < vcdiff::near_cache_size; ++i) {
            const std::uint64_t n = near_[static_cast<std::size_t>(i)];
            if (addr >= n && vcdiff::varint_size(addr - n) < best) {
                mode = static_cast<std::uint8_t>(2 + i);
                value = addr - n;
                best = vcdiff::varint_size(value);
            }
        }
        const std::uint64_t slot = addr % same_slots;
        if (same_[slot] == addr && best > 1) {
            mode = static_cast<std::uint8_t>(2 + vcdiff::near_cache_size + slot / 256);
            out.push_back(static_cast<std::uint8_t>(slot % 256));
        } else {
            vcdiff::put_varint(out, value);
        }
        near_[static_cast<std::size_t>(next_)] = addr;
        next_ = (next_ + 1) % vcdiff::near_cache_size;
        same_[slot] = addr;
        return mode;
    }

private:
    std::array<std::uint64_t, vcdiff::near_cache_size> near_{};
    std::array<std::uint64_t, same_slots> same_{};
    int next_ = 0;
};

}  // namespace

VcdiffWriter::VcdiffWriter(io::ByteSink& out, VcdiffWriterOptions options) : out_(out), options_(options)
{
    if (options_.window_size == 0 || options_.window_size > vcdiff::max_target_window) {
        throw io::Error("vcdiff writer: window size must be 1 byte to 16 MiB");
    }
    if (options_.max_source_span == 0 ||
        options_.max_source_span + options_.window_size > vcdiff::max_segment_plus_window) {
        throw io::Error("vcdiff writer: source span + window size must stay below 4 GiB");
    }
    std::vector<std::uint8_t> header(vcdiff::magic.begin(), vcdiff::magic.end());
    header.push_back(0);  // hdr_indicator: no secondary compressor, no code table
    write_bytes(header);
}

void VcdiffWriter::write_bytes(std::span<const std::uint8_t> bytes)
{
    out_.write(bytes);
    stats_.delta_bytes += bytes.size();
}

void VcdiffWriter::checksum(std::span<const std::uint8_t> bytes)
{
    // libdeflate's vectorised loop: zlib's was a tenth of a dirty-only backup's CPU.
    adler_ = libdeflate_adler32(adler_, bytes.data(), bytes.size());
}

void VcdiffWriter::add(std::span<const std::uint8_t> bytes)
{
    while (!bytes.empty()) {
        if (room() == 0) {
            close_window();
        }
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(room(), bytes.size()));
        append_add(bytes.first(n));
        bytes = bytes.subspan(n);
    }
}

void VcdiffWriter::copy(std::uint64_t source_offset, std::span<const std::uint8_t> target_bytes)
{
    while (!target_bytes.empty()) {
        if (room() == 0) {
            close_window();
        }
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(room(), target_bytes.size()));
        if (has_copy_) {
            const std::uint64_t lo = std::min(seg_lo_, source_offset);
            const std::uint64_t hi = std::max(seg_hi_, source_offset + n);
            if (hi - lo > options_.max_source_span) {
                close_window();
                continue;  // a fresh window has room for at least this piece
            }
        }
        append_copy(source_offset, target_bytes.first(n));
        source_offset += n;
        target_bytes = target_bytes.subspan(n);
    }
}

void VcdiffWriter::run(std::uint8_t byte, std::uint64_t length)
{
    while (length > 0) {
        if (room() == 0) {
            close_window();
        }
        const std::uint64_t n = std::min(room(), length);
        append_run(byte, n);
        length -= n;
    }
}

void VcdiffWriter::append_add(std::span<const std::uint8_t> bytes)
{
    if (!insts_.empty() && insts_.back().type == Inst::add) {
        insts_.back().size += bytes.size();
    } else {
        insts_.push_back({Inst::add, bytes.size(), 0});
    }
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    checksum(bytes);
    window_bytes_ += bytes.size();
    stats_.literal_bytes += bytes.size();
}

void VcdiffWriter::copy_summed(std::uint64_t source_offset, std::uint64_t length, std::uint32_t adler)
{
    if (length == 0) {
        return;
    }
    if (length > options_.window_size || length > options_.max_source_span) {
        throw io::Error("vcdiff writer: a summed copy must fit in one window");
    }
    // Never split (the checksum covers the whole piece): close the window early instead.
    const bool widens =
        has_copy_ && std::max(seg_hi_, source_offset + length) - std::min(seg_lo_, source_offset) >
                         options_.max_source_span;
    if (room() < length || widens) {
        close_window();
    }
    note_copy(source_offset, length);
    adler_ = static_cast<std::uint32_t>(adler32_combine64(adler_, adler, static_cast<z_off64_t>(length)));
}

void VcdiffWriter::append_copy(std::uint64_t source_offset, std::span<const std::uint8_t> bytes)
{
    note_copy(source_offset, bytes.size());
    checksum(bytes);
}

void VcdiffWriter::note_copy(std::uint64_t source_offset, std::uint64_t n)
{
    if (!insts_.empty() && insts_.back().type == Inst::copy &&
        insts_.back().source + insts_.back().size == source_offset) {
        insts_.back().size += n;
    } else {
        insts_.push_back({Inst::copy, n, source_offset});
    }
    if (!has_copy_) {
        seg_lo_ = source_offset;
        seg_hi_ = source_offset + n;
        has_copy_ = true;
    } else {
        seg_lo_ = std::min(seg_lo_, source_offset);
        seg_hi_ = std::max(seg_hi_, source_offset + n);
    }
    window_bytes_ += n;
    stats_.copied_bytes += n;
}

void VcdiffWriter::append_run(std::uint8_t byte, std::uint64_t length)
{
    insts_.push_back({Inst::run, length, 0});
    data_.push_back(byte);
    std::array<std::uint8_t, 4096> buf{};
    buf.fill(byte);
    for (std::uint64_t left = length; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
        checksum(std::span<const std::uint8_t>(buf.data(), n));
        left -= n;
    }
    window_bytes_ += length;
    stats_.run_bytes += length;
}

void VcdiffWriter::close_window(bool even_if_empty)
{
    if (window_bytes_ == 0 && !even_if_empty) {
        return;
    }
    const auto& op = opcodes();
    const std::uint64_t seg_len = has_copy_ ? seg_hi_ - seg_lo_ : 0;
    inst_section_.clear();
    addr_section_.clear();
    AddressEncoder cache;
    cache.reset();

    std::uint64_t target_pos = 0;
    for (std::size_t i = 0; i < insts_.size(); ++i) {
        const Instruction& in = insts_[i];
        if (in.type == Inst::run) {
            inst_section_.push_back(static_cast<std::uint8_t>(op.run));
            vcdiff::put_varint(inst_section_, in.size);
        } else if (in.type == Inst::add) {
            // A small ADD followed by a small COPY fits one opcode of the default table.
            if (in.size <= 4 && i + 1 < insts_.size() && insts_[i + 1].type == Inst::copy &&
                insts_[i + 1].size >= 4 && insts_[i + 1].size <= 6) {
                const Instruction& next = insts_[i + 1];
                const std::uint64_t here = seg_len + target_pos + in.size;
                const std::uint8_t mode = cache.encode(next.source - seg_lo_, here, addr_section_);
                const int code = op.add_copy[mode][in.size][next.size];
                if (code >= 0) {
                    inst_section_.push_back(static_cast<std::uint8_t>(code));
                    target_pos += in.size + next.size;
                    ++i;
                    continue;
                }
                // Same-cache modes pair only with COPY size 4: emit both singly, the
                // address already written stays valid.
                inst_section_.push_back(static_cast<std::uint8_t>(op.add[in.size]));
                target_pos += in.size;
                const int copy_code = op.copy[mode][next.size];
                inst_section_.push_back(static_cast<std::uint8_t>(copy_code));
                target_pos += next.size;
                ++i;
                continue;
            }
            if (in.size >= 1 && in.size <= 17) {
                inst_section_.push_back(static_cast<std::uint8_t>(op.add[in.size]));
            } else {
                inst_section_.push_back(static_cast<std::uint8_t>(op.add[0]));
                vcdiff::put_varint(inst_section_, in.size);
            }
        } else {
            const std::uint64_t here = seg_len + target_pos;
            const std::uint8_t mode = cache.encode(in.source - seg_lo_, here, addr_section_);
            if (in.size >= 4 && in.size <= 18) {
                inst_section_.push_back(static_cast<std::uint8_t>(op.copy[mode][in.size]));
            } else {
                inst_section_.push_back(static_cast<std::uint8_t>(op.copy[mode][0]));
                vcdiff::put_varint(inst_section_, in.size);
            }
        }
        target_pos += in.size;
    }

    // delta encoding: target length, delta_indicator, three section lengths,
    // adler32, then the sections.
    std::vector<std::uint8_t> body;
    vcdiff::put_varint(body, window_bytes_);
    body.push_back(0);
    vcdiff::put_varint(body, data_.size());
    vcdiff::put_varint(body, inst_section_.size());
    vcdiff::put_varint(body, addr_section_.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
        body.push_back(static_cast<std::uint8_t>(adler_ >> shift));
    }
    const std::uint64_t delta_len = body.size() + data_.size() + inst_section_.size() + addr_section_.size();

    header_.clear();
    header_.push_back(static_cast<std::uint8_t>((has_copy_ ? vcdiff::win_source : 0) | vcdiff::win_adler32));
    if (has_copy_) {
        vcdiff::put_varint(header_, seg_len);
        vcdiff::put_varint(header_, seg_lo_);
    }
    vcdiff::put_varint(header_, delta_len);
    header_.insert(header_.end(), body.begin(), body.end());
    write_bytes(header_);
    // New bytes of a changed region mostly do not compress; window headers and
    // instructions do, by a third to a tenth. Blocks of their own keep the latter from
    // being stored raw beside the former (io::ByteSink::mark_boundary): 0.3-0.4 % off
    // the bench's differentials, 124 KB off a 344 MB one (docs/engine.md).
    const bool literal_block = data_.size() >= literal_block_bytes;
    if (literal_block) {
        out_.mark_boundary();
    }
    write_bytes(data_);
    if (literal_block) {
        out_.mark_boundary();
    }
    write_bytes(inst_section_);
    write_bytes(addr_section_);

    stats_.target_bytes += window_bytes_;
    ++stats_.windows;
    insts_.clear();
    data_.clear();
    window_bytes_ = 0;
    adler_ = 1;
    has_copy_ = false;
}

void VcdiffWriter::finish()
{
    if (finished_) {
        throw io::Error("vcdiff writer: finish() called twice");
    }
    // xdelta3 reads a stream without windows as truncated: an empty target is one
    // empty window, as xdelta3 itself writes it.
    close_window(stats_.windows == 0);
    finished_ = true;
}

}  // namespace pvediff::engine
