// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Turns a stream of instructions for consecutive target bytes (ADD literal bytes,
// COPY from an offset of the source, RUN of one byte) into standard VCDIFF windows
// (RFC 3284, no secondary compression, default code table) that stock
// `xdelta3 -d -s SOURCE` decodes. Each window carries xdelta3's VCD_ADLER32 checksum
// of its target bytes, so the decoder verifies every window.
//
// A window is closed when it holds window_size target bytes, or when the next copy
// would widen its source segment beyond max_source_span: copies may point anywhere
// in the source, each window just gets the segment its copies need. Memory is one
// window (its literals and its instruction list), never more.
#include <cstdint>
#include <span>
#include <vector>

#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/io/byte_stream.h"

namespace pvediff::engine {

struct VcdiffWriterOptions {
    // Target bytes per window; stock xdelta3 refuses more than 16 MiB.
    std::uint64_t window_size = std::uint64_t{16} << 20;
    // Source segment length per window. Segment + window must stay below 4 GiB for
    // xdelta3; a smaller span keeps what a decoder must hold per window small.
    std::uint64_t max_source_span = std::uint64_t{1} << 30;
};

struct VcdiffWriterStats {
    std::uint64_t target_bytes = 0;
    std::uint64_t delta_bytes = 0;  // VCDIFF bytes written, header included
    std::uint64_t copied_bytes = 0;
    std::uint64_t literal_bytes = 0;  // ADD bytes
    std::uint64_t run_bytes = 0;
    std::uint64_t windows = 0;
};

class VcdiffWriter {
public:
    // Writes the VCDIFF header at once. Throws io::Error for invalid options.
    explicit VcdiffWriter(io::ByteSink& out, VcdiffWriterOptions options = {});
    VcdiffWriter(const VcdiffWriter&) = delete;
    VcdiffWriter& operator=(const VcdiffWriter&) = delete;

    void add(std::span<const std::uint8_t> bytes);
    // Target bytes equal to source[source_offset, +target_bytes.size()); the bytes
    // themselves are needed for the window checksum only.
    void copy(std::uint64_t source_offset, std::span<const std::uint8_t> target_bytes);
    // The same, for a caller that no longer holds the bytes: `adler` is adler32 (zlib's,
    // initial value 1) of them. The piece is never split across windows, so `length`
    // must not exceed the window size.
    void copy_summed(std::uint64_t source_offset, std::uint64_t length, std::uint32_t adler);
    void run(std::uint8_t byte, std::uint64_t length);
    // Target bytes the open window still takes: a caller of copy_summed() that can cut
    // its piece where it likes fills the window rather than closing it early.
    [[nodiscard]] std::uint64_t room() const { return options_.window_size - window_bytes_; }
    // The longest piece copy_summed() takes.
    [[nodiscard]] std::uint64_t max_summed_copy() const
    {
        return options_.window_size < options_.max_source_span ? options_.window_size
                                                               : options_.max_source_span;
    }
    // Writes the last window. Does not finish the sink (the caller may add a trailer
    // stage or compress). No instruction may follow.
    void finish();

    [[nodiscard]] const VcdiffWriterStats& stats() const { return stats_; }

private:
    struct Instruction {
        vcdiff::Inst type;
        std::uint64_t size;
        std::uint64_t source;  // COPY: absolute source offset
    };

    void append_add(std::span<const std::uint8_t> bytes);
    void append_copy(std::uint64_t source_offset, std::span<const std::uint8_t> bytes);
    void note_copy(std::uint64_t source_offset, std::uint64_t n);  // all but the checksum
    void append_run(std::uint8_t byte, std::uint64_t length);
    void checksum(std::span<const std::uint8_t> bytes);
    void close_window(bool even_if_empty = false);
    void write_bytes(std::span<const std::uint8_t> bytes);

    io::ByteSink& out_;
    VcdiffWriterOptions options_;
    VcdiffWriterStats stats_;
    bool finished_ = false;

    // The open window.
    std::vector<Instruction> insts_;
    std::vector<std::uint8_t> data_;  // ADD bytes and RUN bytes, in instruction order
    std::uint64_t window_bytes_ = 0;
    std::uint32_t adler_ = 1;
    bool has_copy_ = false;
    std::uint64_t seg_lo_ = 0;
    std::uint64_t seg_hi_ = 0;

    // Reused encoding buffers.
    std::vector<std::uint8_t> inst_section_;
    std::vector<std::uint8_t> addr_section_;
    std::vector<std::uint8_t> header_;
};

}  // namespace pvediff::engine
