// SPDX-License-Identifier: GPL-2.0-or-later
// Checking a written differential against its proof (copy_proof.h): the VCDIFF is
// parsed window by window (as VcdiffWriter writes it: plain sections, default code
// table, an Adler-32 per window) and each instruction is walked against the pieces
// the encoder recorded, in target order.
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>

#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/io/error.h"
#include "vcdiff_reader.h"

namespace pvediff::engine {

namespace {

using vcdiff::Inst;

using DeltaReader = vcdiff::StreamReader;
using vcdiff::section_slack;

// Walks target bytes, described instruction by instruction, against the pieces.
class PieceWalker {
public:
    PieceWalker(const CopyProof& proof, const DeltaReader& in)
        : reader_(proof), in_(in), literal_hash_(proof.key())
    {
    }

    void start_window(std::uint64_t at)
    {
        window_at_ = at;
        window_adler_ = 1;
    }
    [[nodiscard]] std::uint32_t window_adler() const { return window_adler_; }
    [[nodiscard]] std::uint64_t position() const { return pos_; }

    // Target bytes given as literals (ADD data, or a RUN expanded).
    void literal(std::span<const std::uint8_t> bytes)
    {
        window_adler_ = libdeflate_adler32(window_adler_, bytes.data(), bytes.size());
        while (!bytes.empty()) {
            ProofPiece& p = current();
            if (p.kind != ProofPiece::Kind::literal) {
                fail("literal bytes where the encoder copied from the full");
            }
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), piece_end() - pos_));
            literal_hash_.update(bytes.first(n));
            advance(n);
            bytes = bytes.subspan(n);
        }
    }
    void run(std::uint8_t byte, std::uint64_t length)
    {
        std::array<std::uint8_t, 4096> buf{};
        buf.fill(byte);
        while (length > 0) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, buf.size()));
            literal(std::span<const std::uint8_t>(buf.data(), n));
            length -= n;
        }
    }
    // Target bytes copied from source[source, +length).
    void copy(std::uint64_t source, std::uint64_t length)
    {
        while (length > 0) {
            ProofPiece& p = current();
            if (p.kind != ProofPiece::Kind::copy) {
                fail("a copy from the full where the encoder wrote literal bytes");
            }
            if (source != p.source_offset + (pos_ - p.target_offset)) {
                fail(fmt::format("copy from offset {} of the full where the encoder copied from {}", source,
                                 p.source_offset + (pos_ - p.target_offset)));
            }
            if (pos_ == p.target_offset && !fits_window(p)) {
                fail("a copied piece crosses a window boundary");
            }
            const std::uint64_t n = std::min(length, piece_end() - pos_);
            copied_ += n;
            advance(n);
            source += n;
            length -= n;
        }
    }
    // Pieces that started in the window must end in it: their Adler-32 is whole.
    void end_window()
    {
        if (have_ && piece_.kind == ProofPiece::Kind::copy && pos_ > piece_.target_offset) {
            fail("a copied piece crosses a window boundary");
        }
    }
    void set_window_end(std::uint64_t end) { window_end_ = end; }
    void finish(std::uint64_t target_bytes)
    {
        if (have_) {
            fail("the differential ends inside a piece of the proof");
        }
        ProofPiece extra;
        if (reader_.next(extra)) {
            fail(fmt::format("the differential ends at byte {} of the archive; the proof goes on", pos_));
        }
        if (pos_ != target_bytes) {
            fail(fmt::format("the differential rebuilds {} bytes, the archive has {}", pos_, target_bytes));
        }
    }
    [[nodiscard]] std::uint64_t copied() const { return copied_; }

private:
    bool fits_window(const ProofPiece& p) const { return p.target_offset + p.length <= window_end_; }
    std::uint64_t piece_end() const { return piece_.target_offset + piece_.length; }
    ProofPiece& current()
    {
        if (!have_) {
            if (!reader_.next(piece_)) {
                fail("the differential goes on beyond the archive's end");
            }
            if (piece_.target_offset != pos_ || piece_.length == 0) {
                fail(fmt::format("the proof's pieces are not contiguous at byte {}", pos_));
            }
            have_ = true;
            literal_hash_.reset();
        }
        return piece_;
    }
    void advance(std::uint64_t n)
    {
        pos_ += n;
        if (pos_ < piece_end()) {
            return;
        }
        have_ = false;
        if (piece_.kind == ProofPiece::Kind::literal) {
            if (literal_hash_.digest() != piece_.target_hash) {
                fail(fmt::format("literal bytes {}..{} differ from the archive's", piece_.target_offset,
                                 piece_end()));
            }
            return;
        }
        if (!piece_.source_hash) {
            fail(fmt::format("bytes {}..{} are copied from a range of the full that was never read",
                             piece_.target_offset, piece_end()));
        }
        if (*piece_.source_hash != piece_.target_hash) {
            fail(fmt::format("bytes {}..{} are copied from offset {} of the full, which holds other bytes",
                             piece_.target_offset, piece_end(), piece_.source_offset));
        }
        window_adler_ = static_cast<std::uint32_t>(
            adler32_combine64(window_adler_, piece_.adler, static_cast<z_off64_t>(piece_.length)));
    }
    [[noreturn]] void fail(const std::string& what) const
    {
        in_.fail_at(window_at_, fmt::format("not the archive the proof describes: {}", what));
    }

    CopyProof::Reader reader_;
    const DeltaReader& in_;
    ProofKey::Stream literal_hash_;
    ProofPiece piece_;
    bool have_ = false;
    std::uint64_t pos_ = 0;
    std::uint64_t window_at_ = 0;
    std::uint64_t window_end_ = 0;
    std::uint32_t window_adler_ = 1;
    std::uint64_t copied_ = 0;
};

}  // namespace

ProofCheckResult check_proof(const CopyProof& proof, io::ByteSource& delta, std::uint64_t target_bytes,
                             const std::function<void(std::uint64_t)>& on_target)
{
    if (!proof.finished()) {
        throw io::Error("copy proof: checked before it was finished");
    }
    if (proof.target_bytes() != target_bytes) {
        throw io::file_error(delta.name(), "the proof covers {} bytes, the archive has {}",
                             proof.target_bytes(), target_bytes);
    }
    DeltaReader in(delta);
    for (const std::uint8_t m : vcdiff::magic) {
        if (in.byte("header") != m) {
            in.fail_at(0, "not a VCDIFF delta (bad magic)");
        }
    }
    if (in.byte("header") != 0) {
        in.fail_at(4, "header indicator other than pvediff writes (secondary compression, code table)");
    }
    ProofCheckResult result;
    PieceWalker walker(proof, in);
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> inst;
    std::vector<std::uint8_t> addr;
    vcdiff::AddressCache cache;
    // Progress in steps of 1/1024 of the archive (at least 64 KiB), inside instructions
    // too: one ADD or COPY can stand for megabytes.
    const std::uint64_t step = std::max<std::uint64_t>(std::uint64_t{64} << 10, target_bytes / 1024);
    std::uint64_t reported = 0;
    const auto report = [&] {
        if (on_target && walker.position() >= reported + step) {
            reported = walker.position();
            on_target(reported);
        }
    };
    while (!in.at_end()) {
        const std::uint64_t at = in.offset();
        walker.start_window(at);
        const std::uint8_t win = in.byte("window header");
        if ((win & ~(vcdiff::win_source | vcdiff::win_adler32)) != 0 || (win & vcdiff::win_adler32) == 0) {
            in.fail_at(at, fmt::format("window {}: not a window as pvediff writes it", result.windows));
        }
        std::uint64_t seg_len = 0;
        std::uint64_t seg_pos = 0;
        if (win & vcdiff::win_source) {
            seg_len = in.varint("window header");
            seg_pos = in.varint("window header");
        }
        const std::uint64_t enc_len = in.varint("window header");
        const std::uint64_t enc_start = in.offset();
        const std::uint64_t target_len = in.varint("window header");
        if (target_len > vcdiff::max_target_window || seg_len > vcdiff::max_segment_plus_window ||
            seg_pos > std::numeric_limits<std::uint64_t>::max() - seg_len) {
            in.fail_at(at, fmt::format("window {}: sizes out of range", result.windows));
        }
        if (in.byte("window header") != 0) {
            in.fail_at(at, fmt::format("window {}: compressed sections", result.windows));
        }
        const std::uint64_t data_len = in.varint("window header");
        const std::uint64_t inst_len = in.varint("window header");
        const std::uint64_t addr_len = in.varint("window header");
        std::uint32_t adler = 0;
        for (int i = 0; i < 4; ++i) {
            adler = (adler << 8) | in.byte("window checksum");
        }
        if (enc_len != (in.offset() - enc_start) + data_len + inst_len + addr_len ||
            data_len > target_len + section_slack || inst_len > 2 * target_len + section_slack ||
            addr_len > 5 * target_len + section_slack) {
            in.fail_at(at, fmt::format("window {}: inconsistent section lengths", result.windows));
        }
        in.bytes(data, data_len, "data section");
        in.bytes(inst, inst_len, "instruction section");
        in.bytes(addr, addr_len, "address section");

        const std::uint64_t window_start = walker.position();
        walker.set_window_end(window_start + target_len);
        std::size_t dp = 0;
        cache.reset();
        auto bad = [&](const std::string& what) {
            in.fail_at(at, fmt::format("window {}: {}", result.windows, what));
        };
        vcdiff::walk_instructions(
            inst, addr, seg_len, seg_len + target_len, cache, bad, [&](const vcdiff::Instruction& i) {
                switch (i.type) {
                    case Inst::add:
                        if (i.size > data.size() - dp) {
                            bad("ADD beyond the data section");
                        }
                        for (std::uint64_t done = 0; done < i.size;) {
                            const std::uint64_t n = std::min(i.size - done, step);
                            walker.literal(std::span<const std::uint8_t>(data).subspan(dp + done, n));
                            done += n;
                            report();
                        }
                        result.literal_bytes += i.size;
                        dp += i.size;
                        break;
                    case Inst::run:
                        if (dp >= data.size()) {
                            bad("RUN beyond the data section");
                        }
                        for (std::uint64_t done = 0; done < i.size;) {
                            const std::uint64_t n = std::min(i.size - done, step);
                            walker.run(data[dp], n);
                            done += n;
                            report();
                        }
                        ++dp;
                        result.literal_bytes += i.size;
                        break;
                    case Inst::copy:
                        if (i.address >= seg_len || i.size > seg_len - i.address) {
                            bad("a copy that is not within the window's source segment");
                        }
                        for (std::uint64_t done = 0; done < i.size;) {
                            const std::uint64_t n = std::min(i.size - done, step);
                            walker.copy(seg_pos + i.address + done, n);
                            done += n;
                            report();
                        }
                        break;
                    case Inst::noop:
                        break;
                }
            });
        if (dp != data.size()) {
            bad("instructions do not use the data section exactly");
        }
        walker.end_window();
        if (walker.window_adler() != adler) {
            bad(fmt::format("Adler-32 {:08x} recorded, the proof's pieces give {:08x}", adler,
                            walker.window_adler()));
        }
        ++result.windows;
        if (on_target) {
            reported = walker.position();
            on_target(reported);
        }
    }
    walker.finish(target_bytes);
    result.target_bytes = walker.position();
    result.copied_bytes = walker.copied();
    return result;
}

}  // namespace pvediff::engine
