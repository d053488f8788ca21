// SPDX-License-Identifier: GPL-2.0-or-later
// The lzop reader (src/io/lzop_reader.cpp) on arbitrary input, read through buffers
// of changing sizes. A fuzzer cannot forge the header checksum, so in inputs of even
// length that start with lzop's magic the header checksum is recomputed first (the
// header walked as lzop_format.h describes it); odd lengths exercise the check itself.
#include <zlib.h>

#include <array>

#include "fuzz_util.h"
#include "pvediff/io/codec.h"

namespace {

constexpr std::array<std::uint8_t, 9> lzop_magic = {0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A};
constexpr std::uint32_t flag_filter = 0x800;
constexpr std::uint32_t flag_header_crc32 = 0x1000;

void fix_header_checksum(std::vector<std::uint8_t>& v)
{
    if (v.size() < lzop_magic.size() || !std::equal(lzop_magic.begin(), lzop_magic.end(), v.begin())) {
        return;
    }
    const std::size_t start = lzop_magic.size();
    std::size_t pos = start;
    auto take = [&](std::size_t n) {
        std::uint64_t x = 0;
        for (std::size_t i = 0; i < n && pos < v.size(); ++i) {
            x = (x << 8) | v[pos++];
        }
        return x;
    };
    const auto version = take(2);
    take(2);
    const bool modern = version >= 0x0940;
    take(modern ? 3 : 1);  // [version needed], method
    take(modern ? 1 : 0);  // level
    const auto flags = static_cast<std::uint32_t>(take(4));
    take((flags & flag_filter) ? 4 : 0);
    take(modern ? 12 : 8);  // mode, mtime
    const std::size_t name_len = take(1);
    pos += name_len;
    if (pos + 4 > v.size()) {
        return;
    }
    const auto* h = v.data() + start;
    const auto len = static_cast<uInt>(pos - start);
    const std::uint32_t sum = (flags & flag_header_crc32) ? static_cast<std::uint32_t>(crc32(0, h, len))
                                                          : static_cast<std::uint32_t>(adler32(1, h, len));
    for (int i = 0; i < 4; ++i) {
        v[pos + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum >> (24 - 8 * i));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    std::vector<std::uint8_t> v = fuzz::copy(data, size);
    if (size % 2 == 0) {
        fix_header_checksum(v);
    }
    fuzz::refused([&] {
        const auto source =
            io::make_decompressor(std::make_unique<io::MemorySource>(std::move(v), "x.lzo"), io::Codec::lzo);
        // A block may declare up to 64 MiB; more than this in total shows nothing new.
        constexpr std::uint64_t cap = std::uint64_t{128} << 20;
        std::vector<std::uint8_t> buf(70000);
        std::uint64_t total = 0;
        for (std::size_t i = 0; total < cap; ++i) {
            const std::size_t want = (i % 3 == 0) ? 1 : (i % 3 == 1) ? 4095 : buf.size();
            const std::size_t n = source->read(std::span(buf).first(want));
            FUZZ_CHECK(n <= want);
            if (n == 0) {
                FUZZ_CHECK(source->read(std::span(buf).first(want)) == 0);  // the end stays the end
                break;
            }
            total += n;
        }
    });
    return 0;
}
