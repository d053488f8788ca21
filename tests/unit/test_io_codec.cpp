// SPDX-License-Identifier: GPL-2.0-or-later
// Codec names, detection by magic bytes, and round trips through pvediff's own
// compressors and decompressors (the CLI tools are in test_io_codec_tools.cpp).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "pvediff/io/error.h"
#include "test_io_helpers.h"

namespace pvediff::io {
namespace {

using test::bytes_of;
using test::decompress_all;
using test::make_data;

constexpr Codec all_codecs[] = {Codec::none, Codec::zstd, Codec::lzo, Codec::gzip};

std::vector<std::uint8_t> compress(const std::vector<std::uint8_t>& data, Codec codec,
                                   CompressOptions options = {}, std::size_t slice = 65536)
{
    auto out = std::make_unique<MemorySink>("mem");
    MemorySink* raw = out.get();
    auto sink = make_compressor(std::move(out), codec, options);
    for (std::size_t pos = 0; pos < data.size(); pos += slice) {
        sink->write(std::span(data).subspan(pos, std::min(slice, data.size() - pos)));
    }
    sink->finish();
    EXPECT_TRUE(raw->finished());
    return raw->data();
}

std::vector<std::uint8_t> decompress(std::vector<std::uint8_t> data, Codec codec,
                                     std::size_t read_size = 65536)
{
    return decompress_all(make_decompressor(std::make_unique<MemorySource>(std::move(data), "mem"), codec),
                          read_size);
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed)
{
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> out(n);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(rng());
    }
    return out;
}

TEST(IoCodec, NamesExtensionsAndParsing)
{
    for (const Codec c : all_codecs) {
        EXPECT_EQ(parse_codec(codec_name(c)), c);
    }
    EXPECT_EQ(codec_extension(Codec::none), "");
    EXPECT_EQ(codec_extension(Codec::zstd), ".zst");
    EXPECT_EQ(codec_extension(Codec::lzo), ".lzo");
    EXPECT_EQ(codec_extension(Codec::gzip), ".gz");
    EXPECT_EQ(parse_codec("zst"), Codec::zstd);
    EXPECT_EQ(parse_codec("lzop"), Codec::lzo);
    EXPECT_EQ(parse_codec("gz"), Codec::gzip);
    EXPECT_EQ(parse_codec("1"), Codec::lzo);  // vzdump's "compress: 1"
    EXPECT_EQ(parse_codec("0"), Codec::none);
    EXPECT_EQ(parse_codec("bzip2"), std::nullopt);
    EXPECT_EQ(parse_codec(""), std::nullopt);
}

TEST(IoCodec, DetectsByMagic)
{
    EXPECT_EQ(detect_codec(bytes_of("\x28\xB5\x2F\xFD\x04")), Codec::zstd);
    for (int low = 0; low < 16; ++low) {
        const std::uint8_t skippable[] = {static_cast<std::uint8_t>(0x50 + low), 0x2A, 0x4D, 0x18};
        EXPECT_EQ(detect_codec(skippable), Codec::zstd);
    }
    EXPECT_EQ(detect_codec(bytes_of("\x1F\x8B\x08")), Codec::gzip);
    const std::uint8_t lzo[] = {0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A, 0x10};
    EXPECT_EQ(detect_codec(lzo), Codec::lzo);
    EXPECT_EQ(detect_codec(std::span(lzo).first(8)), Codec::none);  // too short to be sure
    EXPECT_EQ(detect_codec(bytes_of("VMA")), Codec::none);
    EXPECT_EQ(detect_codec({}), Codec::none);
    EXPECT_EQ(detect_codec(bytes_of("\x28\xB5\x2F")), Codec::none);
    EXPECT_EQ(detect_codec(bytes_of("\x60\x2A\x4D\x18")), Codec::none);
}

TEST(IoCodec, EveryCompressorWritesWhatDetectionRecognises)
{
    const auto data = make_data(1000, 1);
    for (const Codec c : all_codecs) {
        if (c == Codec::none) {
            continue;
        }
        const auto packed = compress(data, c);
        EXPECT_EQ(detect_codec(std::span(packed).first(std::min(packed.size(), codec_magic_size))), c);
        EXPECT_EQ(detect_codec(compress({}, c)), c) << codec_name(c);
    }
}

TEST(IoCodec, RoundTripsAllSizes)
{
    const std::size_t sizes[] = {
        0, 1, 2, 1000, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 17};
    for (const Codec c : all_codecs) {
        for (const std::size_t size : sizes) {
            const auto data = make_data(size, static_cast<std::uint32_t>(size));
            const auto packed = compress(data, c);
            EXPECT_EQ(decompress(packed, c), data) << codec_name(c) << " " << size;
            if (size <= 1000) {
                // One byte at a time exercises every "output buffer full" path.
                EXPECT_EQ(decompress(packed, c, 1), data) << codec_name(c) << " " << size;
            }
        }
    }
}

TEST(IoCodec, RoundTripsIncompressibleData)
{
    // lzop stores such blocks raw; zstd and gzip use stored blocks too.
    const auto data = random_bytes(600 * 1024, 7);
    for (const Codec c : all_codecs) {
        const auto packed = compress(data, c, {}, 4099);
        EXPECT_EQ(decompress(packed, c, 777), data) << codec_name(c);
    }
}

TEST(IoCodec, LevelsAndThreads)
{
    const auto data = make_data(1024 * 1024, 3);
    for (const int level : {1, 5, 9}) {
        for (const Codec c : {Codec::lzo, Codec::gzip}) {
            EXPECT_EQ(decompress(compress(data, c, {level, 1}), c), data) << codec_name(c) << level;
        }
    }
    for (const int level : {-1, 1, 3, 10}) {
        EXPECT_EQ(decompress(compress(data, Codec::zstd, {level, 2}), Codec::zstd), data) << level;
    }
    EXPECT_LT(compress(data, Codec::lzo, {9, 1}).size(), compress(data, Codec::lzo, {1, 1}).size());
}

// A stream that ends within small_bytes is compressed at small_level; a longer one
// comes out exactly as without the option, however its writes cross the limit.
TEST(IoCodec, ZstdSmallStreamsTakeTheSmallLevel)
{
    const CompressOptions small{9, 1, 19, 1 << 20};
    const auto little = make_data(300 * 1024, 4);
    const auto packed = compress(little, Codec::zstd, small);
    EXPECT_EQ(decompress(packed, Codec::zstd), little);
    EXPECT_LT(packed.size(), compress(little, Codec::zstd, {9, 1}).size());
    EXPECT_EQ(decompress(compress({}, Codec::zstd, small), Codec::zstd), std::vector<std::uint8_t>{});

    const auto big = make_data(3 << 20, 5);
    const auto plain = compress(big, Codec::zstd, {9, 1});
    for (const std::size_t slice : {std::size_t{1000}, std::size_t{1} << 20, std::size_t{3} << 20}) {
        EXPECT_EQ(compress(big, Codec::zstd, small, slice), plain) << "writes of " << slice;
    }
    EXPECT_THROW(make_compressor(std::make_unique<MemorySink>(), Codec::zstd, {9, 1, 99, 1 << 20}), Error);
}

// window_log lets zstd find a repeat further back than the level's window (level 9:
// 4 MiB); a small stream held for small_level is written as without it.
TEST(IoCodec, ZstdWindowLogReachesRepeatsFurtherBack)
{
    std::mt19937 rng(7);
    auto noise = [&](std::size_t n) {
        std::vector<std::uint8_t> v(n);
        for (auto& b : v) {
            b = static_cast<std::uint8_t>(rng());
        }
        return v;
    };
    const auto repeated = noise(1 << 20);
    auto data = repeated;
    data.resize(data.size() + (8 << 20));  // 8 MiB of zeros: few entries in zstd's tables
    data.insert(data.end(), repeated.begin(), repeated.end());

    const auto level9 = compress(data, Codec::zstd, {9, 1});
    const auto wide = compress(data, Codec::zstd, {9, 1, 0, 0, 24});
    EXPECT_EQ(decompress(wide, Codec::zstd), data);
    EXPECT_GT(level9.size(), std::size_t{2} << 20);  // the repeat is beyond level 9's window
    EXPECT_LT(wide.size(), std::size_t{1100} << 10);

    const auto little = make_data(300 * 1024, 4);
    EXPECT_EQ(compress(little, Codec::zstd, {9, 1, 19, 1 << 20, 24}),
              compress(little, Codec::zstd, {9, 1, 19, 1 << 20}));
}

// A differential's shape: long runs of new random bytes (the literals), and between
// them a few hundred bytes that compress (window headers, instructions).
TEST(IoCodec, ZstdBoundaryGivesCompressibleBytesABlockOfTheirOwn)
{
    std::mt19937 rng(8);
    std::vector<std::vector<std::uint8_t>> pieces;
    for (int i = 0; i < 64; ++i) {
        std::vector<std::uint8_t> literal(200'000);
        for (auto& b : literal) {
            b = static_cast<std::uint8_t>(rng());
        }
        pieces.push_back(std::move(literal));
        const std::string text = fmt::format("window {} copies 3801568 bytes from {}; ", i, i * 3801568);
        std::vector<std::uint8_t> instructions;
        while (instructions.size() < 1500) {
            instructions.insert(instructions.end(), text.begin(), text.end());
        }
        pieces.push_back(std::move(instructions));
    }
    auto compress_pieces = [&](const CompressOptions& options, bool boundaries) {
        auto out = std::make_unique<MemorySink>("mem");
        MemorySink* raw = out.get();
        auto sink = make_compressor(std::move(out), Codec::zstd, options);
        for (const auto& piece : pieces) {
            if (boundaries) {
                sink->mark_boundary();
            }
            sink->write(piece);
        }
        sink->finish();
        return raw->data();
    };
    std::vector<std::uint8_t> all;
    for (const auto& piece : pieces) {
        all.insert(all.end(), piece.begin(), piece.end());
    }
    const CompressOptions differential{9, 1, 0, 0, 24};
    const auto plain = compress_pieces(differential, false);
    const auto marked = compress_pieces(differential, true);
    EXPECT_EQ(decompress(marked, Codec::zstd), all);
    // Unmarked, each 1.5 KB of text shares a 128 KiB block with random bytes and
    // saves less than the 1/64 zstd asks of a block: stored raw.
    EXPECT_GT(plain.size(), 64 * 200'000 + 64 * 1400);
    EXPECT_LT(marked.size(), 64 * 200'000 + 64 * 200);
    // As differentials are written: the first MiB held in case the stream is small,
    // its boundaries kept for when it is not.
    EXPECT_EQ(compress_pieces({9, 1, 19, 1 << 20, 24}, true), marked);
    // With worker threads the hint is ignored (a flush would end a worker's job early).
    const auto threaded = compress_pieces({9, 2}, true);
    EXPECT_EQ(decompress(threaded, Codec::zstd), all);
}

TEST(IoCodec, RejectsInvalidOptions)
{
    auto sink = [] { return std::make_unique<MemorySink>(); };
    EXPECT_THROW(make_compressor(sink(), Codec::gzip, {10, 1}), Error);
    EXPECT_THROW(make_compressor(sink(), Codec::lzo, {-1, 1}), Error);
    EXPECT_THROW(make_compressor(sink(), Codec::zstd, {99, 1}), Error);
    EXPECT_THROW(make_compressor(sink(), Codec::zstd, {3, 0}), Error);
}

TEST(IoCodec, WriteAfterFinishIsAnError)
{
    for (const Codec c : {Codec::zstd, Codec::lzo, Codec::gzip}) {
        auto s = make_compressor(std::make_unique<MemorySink>("out"), c);
        s->finish();
        const std::uint8_t byte = 1;
        EXPECT_THROW(s->write({&byte, 1}), Error) << codec_name(c);
        EXPECT_THROW(s->finish(), Error) << codec_name(c);
    }
}

TEST(IoCodec, BorrowedSinkIsFinishedButNotOwned)
{
    MemorySink out("borrowed");
    {
        auto s = make_compressor(out, Codec::zstd);
        EXPECT_EQ(s->name(), "borrowed");
        const auto data = make_data(5000, 9);
        s->write(data);
        s->finish();
    }
    EXPECT_TRUE(out.finished());
    EXPECT_EQ(decompress(out.data(), Codec::zstd), make_data(5000, 9));
}

TEST(IoCodec, ConcatenatedStreamsDecodeAsOne)
{
    const auto a = make_data(300000, 1);
    const auto b = make_data(200000, 2);
    auto ab = a;
    ab.insert(ab.end(), b.begin(), b.end());
    for (const Codec c : {Codec::zstd, Codec::lzo, Codec::gzip}) {
        auto packed = compress(a, c);
        const auto second = compress(b, c);
        packed.insert(packed.end(), second.begin(), second.end());
        EXPECT_EQ(decompress(packed, c, 4096), ab) << codec_name(c);
        // An empty stream in between is fine too.
        auto with_empty = compress(a, c);
        const auto empty = compress({}, c);
        with_empty.insert(with_empty.end(), empty.begin(), empty.end());
        with_empty.insert(with_empty.end(), second.begin(), second.end());
        EXPECT_EQ(decompress(with_empty, c), ab) << codec_name(c);
    }
}

TEST(IoCodec, ZstdSkippableFramesAreSkipped)
{
    const auto data = make_data(10000, 4);
    // Skippable frame: magic 0x184D2A5E, 32-bit LE length, payload.
    std::vector<std::uint8_t> packed = {0x5E, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'};
    const auto frame = compress(data, Codec::zstd);
    packed.insert(packed.end(), frame.begin(), frame.end());
    EXPECT_EQ(detect_codec(packed), Codec::zstd);
    auto in = open_decompressed(std::make_unique<MemorySource>(packed, "skip"));
    EXPECT_EQ(in.codec, Codec::zstd);
    EXPECT_EQ(decompress_all(std::move(in.source)), data);
}

TEST(IoCodec, OpenDecompressedDetectsByContentNotName)
{
    test::TempDir dir;
    const auto data = make_data(100000, 5);
    // Deliberately misleading names.
    test::compress_to_file(data, dir / "a.gz", Codec::zstd);
    test::compress_to_file(data, dir / "b.zst", Codec::lzo);
    test::compress_to_file(data, dir / "c.lzo", Codec::gzip);
    test::compress_to_file(data, dir / "d.zst", Codec::none);
    const std::pair<const char*, Codec> expect[] = {
        {"a.gz", Codec::zstd}, {"b.zst", Codec::lzo}, {"c.lzo", Codec::gzip}, {"d.zst", Codec::none}};
    for (const auto& [file, codec] : expect) {
        auto in = open_decompressed((dir / file).string());
        EXPECT_EQ(in.codec, codec) << file;
        EXPECT_EQ(in.source->name(), (dir / file).string());
        EXPECT_EQ(decompress_all(std::move(in.source)), data) << file;
    }
}

TEST(IoCodec, OpenDecompressedShortAndEmptyInputs)
{
    for (const auto& raw : {std::vector<std::uint8_t>{}, bytes_of("x"), bytes_of("\x1F")}) {
        auto in = open_decompressed(std::make_unique<MemorySource>(raw, "short"));
        EXPECT_EQ(in.codec, Codec::none);
        EXPECT_EQ(decompress_all(std::move(in.source)), raw);
    }
}

TEST(IoCodec, EmptyInputIsNotACompressedStream)
{
    for (const Codec c : {Codec::zstd, Codec::lzo, Codec::gzip}) {
        try {
            decompress({}, c);
            ADD_FAILURE() << codec_name(c) << ": empty input accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("'mem': offset 0: "), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("unexpected end of compressed data"), std::string::npos)
                << e.what();
        }
    }
}

TEST(IoCodec, NoneIsPassthrough)
{
    const auto data = make_data(12345, 6);
    EXPECT_EQ(compress(data, Codec::none), data);
    EXPECT_EQ(decompress(data, Codec::none), data);
}

}  // namespace
}  // namespace pvediff::io
