// SPDX-License-Identifier: GPL-2.0-or-later
// The VCDIFF scanner (src/engine/vcdiff_scan.cpp) on arbitrary input, checking what
// vcdiff_scan.h promises about each window, which the decoder's plan relies on.
#include "fuzz_util.h"
#include "pvediff/engine/vcdiff_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    io::MemorySource delta(fuzz::copy(data, size), "delta");
    std::uint64_t windows = 0;
    std::uint64_t target = 0;
    std::uint64_t source_end = 0;
    std::uint64_t coarse = 0;
    std::uint64_t last_delta_offset = 0;
    fuzz::refused([&] {
        const engine::ScanSummary s = engine::scan_vcdiff(delta, [&](const engine::ScannedWindow& w) {
            FUZZ_CHECK(w.index == windows);
            FUZZ_CHECK(w.target_offset == target);
            FUZZ_CHECK(w.index == 0 || w.delta_offset > last_delta_offset);
            FUZZ_CHECK(w.delta_offset < size);
            last_delta_offset = w.delta_offset;
            if (!w.has_source) {
                FUZZ_CHECK(w.ranges.empty());
            }
            if (w.coarse && w.has_source && w.segment_length > 0) {
                FUZZ_CHECK(w.ranges.size() == 1);
                FUZZ_CHECK(w.ranges[0].offset == w.segment_offset && w.ranges[0].length == w.segment_length);
            }
            for (std::size_t i = 0; i < w.ranges.size(); ++i) {
                const engine::SourceRange& r = w.ranges[i];
                FUZZ_CHECK(r.length > 0);
                // Inside the window's source segment.
                FUZZ_CHECK(r.offset >= w.segment_offset);
                FUZZ_CHECK(r.offset + r.length <= w.segment_offset + w.segment_length);
                // Sorted; overlapping and adjacent ones merged.
                if (i > 0) {
                    FUZZ_CHECK(w.ranges[i - 1].offset + w.ranges[i - 1].length < r.offset);
                }
                source_end = std::max(source_end, r.offset + r.length);
            }
            ++windows;
            target += w.target_length;
            coarse += w.coarse ? 1 : 0;
        });
        FUZZ_CHECK(s.windows == windows);
        FUZZ_CHECK(s.target_bytes == target);
        FUZZ_CHECK(s.source_end == source_end);
        FUZZ_CHECK(s.coarse_windows == coarse);
        FUZZ_CHECK(s.delta_bytes == size);  // read to the clean end
    });
    return 0;
}
