// SPDX-License-Identifier: GPL-2.0-or-later
// The manifest sidecar parser (store::parse_manifest) on arbitrary text: a manifest
// that parses formats to text that parses back to the same manifest.
#include "fuzz_util.h"
#include "pvediff/store/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    store::Manifest m;
    if (fuzz::refused([&] { m = store::parse_manifest(fuzz::text(data, size), "x.pvediff-manifest"); })) {
        return 0;
    }
    const std::string again = store::format_manifest(m);
    FUZZ_CHECK(store::parse_manifest(again, "again") == m);
    return 0;
}
