// SPDX-License-Identifier: GPL-2.0-or-later
// The VMA item digest (src/formats/vma_item_digest.cpp) on an arbitrary stream: it
// either throws io::Error or gives a digest, the same whatever the pieces the stream
// arrives in (the first byte picks their size), and an archive the strict verifier
// finds structurally sound always has one. Even-length inputs get their MD5 fields
// fixed first (vma_fixup.h).
#include <optional>

#include "fuzz_util.h"
#include "pvediff/formats/vma_item_digest.h"
#include "pvediff/formats/vma_verify.h"
#include "pvediff/io/error.h"
#include "vma_fixup.h"

namespace {

std::optional<pvediff::io::Digest> digest_in_pieces(std::span<const std::uint8_t> v, std::size_t piece)
{
    using namespace pvediff;
    formats::VmaItemHashingSink sink("archive.vma");
    try {
        for (std::size_t at = 0; at < v.size(); at += piece) {
            sink.write(v.subspan(at, std::min(piece, v.size() - at)));
        }
        sink.finish();
    } catch (const io::Error&) {
        return std::nullopt;
    }
    FUZZ_CHECK(sink.bytes() == v.size());
    return sink.digest();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    std::vector<std::uint8_t> v = fuzz::copy(data, size);
    if (size % 2 == 0) {
        fuzz::fix_vma_md5s(v);
    }
    const std::size_t piece = size == 0 ? 1 : std::size_t{data[0]} * 37 + 1;
    const auto whole = digest_in_pieces(v, std::max<std::size_t>(v.size(), 1));
    const auto pieces = digest_in_pieces(v, piece);
    FUZZ_CHECK(whole == pieces);

    io::MemorySource source(v, "archive.vma");
    formats::VmaVerifyOptions options;
    options.max_problems = 1;
    const formats::VmaVerifyReport r = formats::verify_vma(source, options);
    FUZZ_CHECK(!r.structure_ok || whole.has_value());
    return 0;
}
