// SPDX-License-Identifier: GPL-2.0-or-later
// io::open_decompressed() on arbitrary input: codec detection by magic bytes and the
// zstd, gzip and lzop readers (src/io/zstd_stream.cpp, gzip_stream.cpp,
// lzop_reader.cpp), read through buffers of changing sizes. What decodes is
// compressed again with the same codec and must decode to the same bytes.
#include "fuzz_util.h"
#include "pvediff/io/codec.h"

namespace {

std::vector<std::uint8_t> read_all(pvediff::io::ByteSource& source, std::size_t cap)
{
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> buf(70000);
    for (std::size_t i = 0; out.size() < cap; ++i) {
        const std::size_t want = (i % 3 == 0) ? 1 : (i % 3 == 1) ? 4095 : buf.size();
        const std::size_t n = source.read(std::span(buf).first(want));
        FUZZ_CHECK(n <= want);
        if (n == 0) {
            break;
        }
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    // Decompression bombs are legal input; past this the input has shown all it can.
    constexpr std::size_t cap = std::size_t{32} << 20;
    io::Codec codec = io::Codec::none;
    std::vector<std::uint8_t> plain;
    if (fuzz::refused([&] {
            auto in = io::open_decompressed(std::make_unique<io::MemorySource>(fuzz::copy(data, size), "x"));
            codec = in.codec;
            plain = read_all(*in.source, cap);
        })) {
        return 0;
    }
    FUZZ_CHECK(codec ==
               io::detect_codec(fuzz::bytes(data, std::min<std::size_t>(size, io::codec_magic_size))));
    if (codec == io::Codec::none) {
        FUZZ_CHECK(plain == fuzz::copy(data, size));
        return 0;
    }
    if (plain.size() >= cap) {
        return 0;
    }
    auto sink = std::make_unique<io::MemorySink>();
    io::MemorySink* compressed = sink.get();
    auto compressor = io::make_compressor(std::move(sink), codec);
    compressor->write(plain);
    compressor->finish();
    auto again = io::make_decompressor(std::make_unique<io::MemorySource>(compressed->data(), "y"), codec);
    FUZZ_CHECK(read_all(*again, cap + 1) == plain);
    return 0;
}
