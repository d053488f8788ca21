// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Reads a VCDIFF stream (RFC 3284 as xdelta3 writes it) without the source and
// without producing the target, and tells per window which bytes of the source its
// COPY instructions read. The decoder plans from it which parts of the full to keep
// aside; `verify` uses it to check a delta's structure cheaply.
//
// A window's instructions can only be decoded when its instruction and address
// sections are plain and the default code table is in use. Otherwise (secondary
// compression of those sections, as stock xdelta3 writes by default, or a custom code
// table) the window is "coarse": its whole source segment counts as read.
//
// Memory per window: its instruction and address sections, at most 7 bytes per byte of
// its target window (checked before allocating: see vcdiff_scan.cpp), and at most
// 2^19 source ranges (8 MiB); the data section is skipped.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "pvediff/io/byte_stream.h"

namespace pvediff::engine {

struct SourceRange {
    std::uint64_t offset = 0;  // in the source (the full's decompressed content)
    std::uint64_t length = 0;
    friend bool operator==(const SourceRange&, const SourceRange&) = default;
};

struct VcdiffHeader {
    std::uint8_t indicator = 0;
    std::optional<std::uint8_t> secondary_id;  // 1 = DJW, 2 = LZMA, 16 = FGK (xdelta3's ids)
    bool custom_code_table = false;
    std::uint64_t app_header_length = 0;  // xdelta3's VCD_APPHEADER extension
};

struct ScannedWindow {
    std::uint64_t index = 0;
    std::uint64_t delta_offset = 0;   // where the window starts in the VCDIFF stream
    std::uint64_t target_offset = 0;  // where its bytes start in the target
    std::uint64_t target_length = 0;
    bool has_source = false;  // VCD_SOURCE
    std::uint64_t segment_offset = 0;
    std::uint64_t segment_length = 0;
    bool coarse = false;  // ranges = the whole segment (see above)
    std::optional<std::uint32_t> adler32;
    // Target bytes from ADD instructions (literal data carried by the delta); for a
    // coarse window, its data section's length (a lower bound).
    std::uint64_t added_bytes = 0;
    // Sorted, overlapping and adjacent ranges merged, absolute source offsets. A window
    // with very many scattered copies has its ranges joined across small gaps (at most
    // 2^18 ranges are kept), so they may cover a few bytes more than it reads.
    std::vector<SourceRange> ranges;
};

class VcdiffScanner {
public:
    // `delta` is the decompressed VCDIFF stream; it is read once, front to back.
    explicit VcdiffScanner(io::ByteSource& delta);
    ~VcdiffScanner();
    VcdiffScanner(const VcdiffScanner&) = delete;
    VcdiffScanner& operator=(const VcdiffScanner&) = delete;

    // Reads the file header on the first call. Throws io::Error naming the delta and
    // the offset for anything that is not VCDIFF.
    const VcdiffHeader& header();
    // The next window into `window`; false at the clean end of the stream. Throws
    // io::Error naming the delta and the offset when the stream is truncated or corrupt,
    // or uses what xdelta3 cannot decode either (VCD_TARGET windows, windows > 16 MiB),
    // or sections larger than its target window can need, or empty instructions.
    bool next(ScannedWindow& window);
    // Bytes of the delta consumed so far.
    [[nodiscard]] std::uint64_t offset() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct ScanSummary {
    VcdiffHeader header;
    std::uint64_t windows = 0;
    std::uint64_t target_bytes = 0;
    std::uint64_t source_end = 0;  // one past the last source byte any window reads
    std::uint64_t coarse_windows = 0;
    std::uint64_t added_bytes = 0;  // sum of the windows' added_bytes
    std::uint64_t delta_bytes = 0;
};

// Scans a whole stream, calling `on_window` (if set) for each window.
ScanSummary scan_vcdiff(io::ByteSource& delta,
                        const std::function<void(const ScannedWindow&)>& on_window = {});

}  // namespace pvediff::engine
