// SPDX-License-Identifier: GPL-2.0-or-later
// verify_vma() (src/formats/vma_verify.cpp) on an arbitrary stream, cross-checked with
// the lenient VMA layout parser: an archive the strict verifier finds structurally
// sound must be understood by the layout parser to its end, block for block.
// Even-length inputs get their MD5 fields fixed first (vma_fixup.h).
#include "fuzz_util.h"
#include "pvediff/formats/layout.h"
#include "pvediff/formats/vma_verify.h"
#include "vma_fixup.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    std::vector<std::uint8_t> v = fuzz::copy(data, size);
    if (size % 2 == 0) {
        fuzz::fix_vma_md5s(v);
    }
    io::MemorySource source(v, "archive.vma");
    formats::VmaVerifyOptions options;
    options.max_problems = 4;
    const formats::VmaVerifyReport r = formats::verify_vma(source, options);  // throws only for I/O errors
    FUZZ_CHECK(r.bytes == size);
    FUZZ_CHECK(r.ok == (r.structure_ok && r.complete));
    FUZZ_CHECK(r.problems.size() <= options.max_problems);
    FUZZ_CHECK(r.ok || !r.problems.empty());
    FUZZ_CHECK(!r.structure_ok || r.header_ok);
    std::uint64_t seen = 0;
    std::uint64_t expected = 0;
    for (const auto& d : r.devices) {
        FUZZ_CHECK(d.clusters_seen <= d.clusters_expected);
        FUZZ_CHECK(d.clusters_missing == d.clusters_expected - d.clusters_seen);
        seen += d.clusters_seen;
        expected += d.clusters_expected;
    }
    FUZZ_CHECK(seen == r.clusters_seen);
    FUZZ_CHECK(expected == r.clusters_expected);
    FUZZ_CHECK(!r.complete || r.clusters_missing == 0);

    if (r.structure_ok) {
        const auto parser = formats::make_layout_parser(formats::ArchiveFormat::vma);
        std::vector<formats::Region> regions;
        parser->feed(v, regions);
        parser->finish(regions);
        FUZZ_CHECK(!parser->opaque());
        std::uint64_t blocks = 0;
        for (const auto& region : regions) {
            blocks += region.kind == formats::RegionKind::block ? 1 : 0;
        }
        FUZZ_CHECK(blocks == r.blocks);
    }
    return 0;
}
