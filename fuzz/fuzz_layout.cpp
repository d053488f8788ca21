// SPDX-License-Identifier: GPL-2.0-or-later
// The layout parsers (src/formats/vma_layout.cpp, tar_layout.cpp) on arbitrary input,
// each format's parser whatever the input looks like. Checks what layout.h promises:
// regions contiguous, covering every byte once, never empty or longer than
// max_region_length, continuations of one unit with the same kind and key, and the
// same regions however the stream is cut into feed() calls. Even-length inputs get
// their VMA MD5 fields fixed first (vma_fixup.h), though the parser is lenient.
#include "fuzz_util.h"
#include "pvediff/formats/layout.h"
#include "vma_fixup.h"

namespace {

using pvediff::formats::Region;

std::vector<Region> parse(pvediff::formats::ArchiveFormat format, std::span<const std::uint8_t> v,
                          std::span<const std::size_t> cuts)
{
    const auto parser = pvediff::formats::make_layout_parser(format);
    std::vector<Region> out;
    std::size_t pos = 0;
    for (std::size_t i = 0; pos < v.size(); ++i) {
        const std::size_t n = cuts.empty() ? v.size() : std::min(cuts[i % cuts.size()], v.size() - pos);
        parser->feed(v.subspan(pos, n), out);
        pos += n;
        FUZZ_CHECK(parser->offset() == pos);
    }
    parser->finish(out);
    return out;
}

void check_regions(const std::vector<Region>& regions, std::uint64_t size)
{
    std::uint64_t pos = 0;
    for (std::size_t i = 0; i < regions.size(); ++i) {
        const Region& r = regions[i];
        FUZZ_CHECK(r.offset == pos);
        FUZZ_CHECK(r.length > 0 && r.length <= pvediff::formats::max_region_length);
        if (r.continues) {
            FUZZ_CHECK(r.length == pvediff::formats::max_region_length);
            FUZZ_CHECK(i + 1 < regions.size());
            FUZZ_CHECK(regions[i + 1].kind == r.kind && regions[i + 1].key == r.key);
        }
        pos += r.length;
    }
    FUZZ_CHECK(pos == size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    std::vector<std::uint8_t> v = fuzz::copy(data, size);
    if (size % 2 == 0) {
        fuzz::fix_vma_md5s(v);
    }
    (void)formats::detect_format(std::span(v).first(std::min<std::size_t>(v.size(), 512)));
    // Cuts of awkward sizes: single bytes, across the 512-byte records, odd lengths.
    static constexpr std::array<std::size_t, 6> cuts{1, 511, 7, 4096, 3, 600};
    for (const auto format :
         {formats::ArchiveFormat::vma, formats::ArchiveFormat::tar, formats::ArchiveFormat::unknown}) {
        const std::vector<Region> whole = parse(format, v, {});
        check_regions(whole, size);
        FUZZ_CHECK(parse(format, v, cuts) == whole);
    }
    return 0;
}
