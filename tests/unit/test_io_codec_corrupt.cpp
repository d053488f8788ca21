// SPDX-License-Identifier: GPL-2.0-or-later
// Bad compressed input: cut short anywhere, a byte flipped, garbage appended. Every
// case must end in io::Error naming the stream and the offset; none may pass
// silently with wrong data, none may crash (run this under ASan too).
#include <gtest/gtest.h>

#include "pvediff/io/error.h"
#include "test_io_helpers.h"

namespace pvediff::io {
namespace {

using test::run;
using test::shell_quote;

constexpr Codec codecs[] = {Codec::zstd, Codec::lzo, Codec::gzip};

struct Outcome {
    bool failed = false;
    std::string message;
    std::vector<std::uint8_t> data;
};

Outcome try_decode(std::vector<std::uint8_t> packed, Codec codec, const std::string& name,
                   std::size_t read_size = 65536)
{
    Outcome o;
    try {
        o.data = test::decompress_all(
            make_decompressor(std::make_unique<MemorySource>(std::move(packed), name), codec), read_size);
    } catch (const Error& e) {
        o.failed = true;
        o.message = e.what();
    }
    return o;
}

void expect_located_error(const Outcome& o, const std::string& name, const std::string& what = {})
{
    ASSERT_TRUE(o.failed) << "bad input decoded without error";
    EXPECT_EQ(o.message.rfind("'" + name + "': offset ", 0), 0U) << o.message;
    if (!what.empty()) {
        EXPECT_NE(o.message.find(what), std::string::npos) << o.message;
    }
}

std::vector<std::uint8_t> tool_compressed(Codec codec, const std::vector<std::uint8_t>& data,
                                          const test::TempDir& dir)
{
    test::write_file(dir / "plain", data);
    const std::string in = shell_quote((dir / "plain").string());
    const std::string out = shell_quote((dir / "packed").string());
    const std::string tool = codec == Codec::zstd   ? "zstd -q -c "
                             : codec == Codec::gzip ? "gzip -c "
                                                    : "lzop -c ";
    EXPECT_EQ(run(tool + in + " > " + out), 0);
    return test::read_file(dir / "packed");
}

std::vector<std::uint8_t> our_compressed(Codec codec, const std::vector<std::uint8_t>& data)
{
    auto out = std::make_unique<MemorySink>();
    MemorySink* raw = out.get();
    auto sink = make_compressor(std::move(out), codec);
    sink->write(data);
    sink->finish();
    return raw->data();
}

TEST(IoCodecCorrupt, EveryTruncationOfASmallStreamFails)
{
    test::TempDir dir;
    // Big enough for several lzop blocks' worth of structure, small enough to cut
    // at every length.
    const auto data = test::make_data(6000, 11);
    for (const Codec c : codecs) {
        for (const auto& packed : {tool_compressed(c, data, dir), our_compressed(c, data)}) {
            ASSERT_EQ(try_decode(packed, c, "x").data, data);
            for (std::size_t len = 0; len < packed.size(); ++len) {
                SCOPED_TRACE(std::string(codec_name(c)) + " cut at " + std::to_string(len));
                const std::vector<std::uint8_t> cut(packed.begin(),
                                                    packed.begin() + static_cast<std::ptrdiff_t>(len));
                const auto o =
                    try_decode(cut, c, "/dump/x.vma" + std::string(codec_extension(c)), len % 2 ? 1 : 65536);
                expect_located_error(o, "/dump/x.vma" + std::string(codec_extension(c)));
                if (HasFailure()) {
                    return;
                }
            }
        }
    }
}

TEST(IoCodecCorrupt, TruncatedBigFilesFailWithTheirPath)
{
    test::TempDir dir;
    const auto data = test::make_data(2 * 1024 * 1024, 12);
    for (const Codec c : codecs) {
        const auto packed = tool_compressed(c, data, dir);
        const std::size_t n = packed.size();
        for (const std::size_t len : {std::size_t{1}, std::size_t{10}, n / 3, n / 2, n - 5, n - 4, n - 1}) {
            SCOPED_TRACE(std::string(codec_name(c)) + " cut at " + std::to_string(len));
            const auto path = dir / ("cut" + std::string(codec_extension(c)));
            test::write_file(path, {packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(len)});
            // Named explicitly, the codec must notice; detected by magic (once the cut
            // leaves the magic whole), too.
            try {
                test::decompress_file(path, c);
                ADD_FAILURE() << "truncated file decoded without error";
            } catch (const Error& e) {
                EXPECT_EQ(std::string(e.what()).rfind("'" + path.string() + "': offset ", 0), 0U) << e.what();
            }
            if (len >= 10) {
                auto in = open_decompressed(path.string());
                EXPECT_EQ(in.codec, c);
                EXPECT_THROW(test::decompress_all(std::move(in.source)), Error);
            }
        }
    }
}

TEST(IoCodecCorrupt, FlippedByteInTheMiddleFails)
{
    test::TempDir dir;
    const auto data = test::make_data(1024 * 1024, 13);
    for (const Codec c : codecs) {
        for (auto packed : {tool_compressed(c, data, dir), our_compressed(c, data)}) {
            SCOPED_TRACE(codec_name(c));
            packed[packed.size() / 2] ^= 0x5A;
            expect_located_error(try_decode(packed, c, "mid"), "mid");
        }
    }
}

TEST(IoCodecCorrupt, NoFlippedByteYieldsWrongData)
{
    // Wherever a byte is damaged, the result is an error or, where the damage hit
    // something that does not matter (a gzip header's mtime, an lzop header's mode
    // is checksummed but an LZO match may point at equal bytes), the exact data.
    test::TempDir dir;
    const auto data = test::make_data(300 * 1024, 14);
    for (const Codec c : codecs) {
        const auto packed = tool_compressed(c, data, dir);
        std::size_t errors = 0;
        std::size_t tried = 0;
        for (std::size_t pos = 0; pos < packed.size(); pos += packed.size() / 97 + 1) {
            auto bad = packed;
            bad[pos] ^= 0x01;
            const auto o = try_decode(bad, c, "flip");
            ++tried;
            if (o.failed) {
                ++errors;
                EXPECT_EQ(o.message.rfind("'flip': offset ", 0), 0U) << o.message;
            } else {
                EXPECT_EQ(o.data, data) << codec_name(c) << ": wrong data after flipping byte " << pos;
            }
        }
        EXPECT_GT(errors * 10, tried * 9) << codec_name(c);
    }
}

TEST(IoCodecCorrupt, TrailingGarbageFails)
{
    const auto data = test::make_data(5000, 15);
    for (const Codec c : codecs) {
        for (const std::string& tail :
             {std::string("garbage"), std::string(1, '\0'), std::string(512, '\0'), std::string("\x28")}) {
            SCOPED_TRACE(std::string(codec_name(c)) + " + " + std::to_string(tail.size()) + " bytes");
            auto packed = our_compressed(c, data);
            const std::size_t end = packed.size();
            packed.insert(packed.end(), tail.begin(), tail.end());
            const auto o = try_decode(packed, c, "tail");
            expect_located_error(o, "tail");
            if (tail.size() > 1) {
                EXPECT_NE(o.message.find("trailing garbage"), std::string::npos) << o.message;
                EXPECT_NE(o.message.find("offset " + std::to_string(end)), std::string::npos) << o.message;
            }
        }
    }
}

TEST(IoCodecCorrupt, WrongCodecFails)
{
    const auto data = test::make_data(5000, 16);
    for (const Codec written : codecs) {
        for (const Codec read : codecs) {
            if (written != read) {
                expect_located_error(try_decode(our_compressed(written, data), read, "wrong"), "wrong");
            }
        }
        expect_located_error(try_decode(data, written, "plain"), "plain");
    }
}

}  // namespace
}  // namespace pvediff::io
