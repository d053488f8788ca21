// SPDX-License-Identifier: GPL-2.0-or-later
// Random access into a full written in frames: SourceFrames gives any range across
// frame boundaries, and engine::decode takes a window's ranges far ahead from the frames
// instead of reading the full forward to them and setting aside what lies between.
#include <gtest/gtest.h>

#include "pvediff/engine/delta.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "source_frames.h"
#include "test_engine_delta_helpers.h"

namespace pvediff::engine {
// Not anonymous: the test binary is compiled in unity batches.
namespace test_engine_source_frames {

using Bytes = std::vector<std::uint8_t>;

// One zstd frame with a content checksum, by the writer that writes fulls.
Bytes compress_frame(std::span<const std::uint8_t> data)
{
    io::MemorySink frame;
    const auto zstd = io::make_compressor(frame, io::Codec::zstd);
    zstd->write(data);
    zstd->finish();
    return frame.data();
}

// `content` written to `path` as frames of `frame_bytes` (the last one shorter).
FramedSource write_framed(const std::filesystem::path& path, const Bytes& content, std::size_t frame_bytes)
{
    FramedSource framed;
    Bytes file;
    for (std::size_t at = 0; at < content.size(); at += frame_bytes) {
        const auto piece = std::span(content).subspan(at, std::min(frame_bytes, content.size() - at));
        const Bytes frame = compress_frame(piece);
        framed.frames.push_back({at, piece.size(), file.size(), static_cast<std::uint32_t>(frame.size())});
        file.insert(file.end(), frame.begin(), frame.end());
    }
    test::write_file(path, file);
    framed.open = [path] {
        return std::make_unique<io::ZstdFrameReader>(io::open_regular_file(path), path.string());
    };
    return framed;
}

TEST(SourceFrames, AnyRangeAcrossFrameBoundaries)
{
    test::TempDir dir;
    const Bytes content = test::make_data(1'000'000, 3);
    detail::SourceFrames frames(write_framed(dir / "full.zst", content, 65'000), "full", UINT64_MAX);
    EXPECT_EQ(frames.content_size(), content.size());
    // Within one frame, across two, across many, at both ends; out of order.
    for (const auto& [offset, length] : std::vector<std::pair<std::size_t, std::size_t>>{
             {0, 100}, {64'990, 20}, {999'000, 1'000}, {100'000, 400'000}, {5, 999'995}, {650'000, 65'000}}) {
        Bytes got(length);
        frames.copy_to(offset, got);
        EXPECT_TRUE(std::equal(got.begin(), got.end(), content.begin() + static_cast<std::ptrdiff_t>(offset)))
            << offset << "+" << length;
    }
    EXPECT_GT(frames.frames_read(), 0u);
    Bytes beyond(10);
    EXPECT_THROW(frames.copy_to(content.size() - 5, beyond), io::Error);
}

TEST(SourceFrames, FramesThatAreNotContiguousAreRefused)
{
    test::TempDir dir;
    FramedSource framed = write_framed(dir / "full.zst", test::make_data(200'000, 4), 50'000);
    framed.frames[2].content_offset += 1;
    EXPECT_THROW(detail::SourceFrames(framed, "full", UINT64_MAX), io::Error);
}

// The target begins with the full's last 256 KiB, then the rest in order: the first
// window copies from the end of the full, and everything before it is read by later
// windows.
struct FarAheadCase {
    Bytes base, target, delta;
    DecodeOptions options;  // a memory limit far below what lies before the first window's copy
};

FarAheadCase far_ahead_case(const test::TempDir& dir)
{
    FarAheadCase c;
    c.base = test::make_data(4 << 20, 9);
    const std::size_t tail = 256 << 10;
    c.target.assign(c.base.end() - static_cast<std::ptrdiff_t>(tail), c.base.end());
    c.target.insert(c.target.end(), c.base.begin(), c.base.end() - static_cast<std::ptrdiff_t>(tail));
    c.delta = test_delta::stock_encode(dir, c.base, c.target, "-S none -B 8388608 -W 262144");
    c.options.spill_dir = dir.path();
    c.options.memory_limit = 512 << 10;
    return c;
}

TEST(Decoder, RangesFarAheadComeFromTheFramesInsteadOfBeingSetAside)
{
    test::TempDir dir;
    const FarAheadCase c = far_ahead_case(dir);
    DecodeOptions options = c.options;

    DecodeResult forward;
    EXPECT_EQ(test_delta::decode_bytes(c.base, c.delta, options, &forward), c.target);
    EXPECT_EQ(forward.frames_read, 0u);
    EXPECT_GT(forward.spilled_bytes, 3u << 20);  // nearly the whole full, set aside for later windows

    options.framed = write_framed(dir / "full.zst", c.base, 100'000);
    DecodeResult framed;
    EXPECT_EQ(test_delta::decode_bytes(c.base, c.delta, options, &framed), c.target);
    EXPECT_GT(framed.frames_read, 0u);
    EXPECT_GT(framed.frame_bytes_read, 0u);
    EXPECT_EQ(framed.spilled_bytes, 0u);
    EXPECT_LT(framed.kept_aside_peak, options.memory_limit);
}

TEST(Decoder, ADamagedFrameFailsTheDecodeNeverGivesWrongBytes)
{
    test::TempDir dir;
    const FarAheadCase c = far_ahead_case(dir);
    DecodeOptions options = c.options;
    options.framed = write_framed(dir / "full.zst", c.base, 100'000);
    // Flip a byte inside the last frame, which the first window reads.
    Bytes file = test::read_file(dir / "full.zst");
    const SourceFrame& last = options.framed->frames.back();
    file[last.file_offset + last.file_size / 2] ^= 0x40;
    std::filesystem::remove(dir / "full.zst");
    test::write_file(dir / "full.zst", file);
    EXPECT_THROW(test_delta::decode_bytes(c.base, c.delta, options), io::Error);
}

// Small pieces from all over the full, then the full in order (as a new directory of
// files copied from everywhere in a container, early in its tar): each piece is far
// ahead of the forward read and decompresses a whole frame, again when a later window
// comes back to a frame no reader keeps.
struct ScatteredCase {
    Bytes base, target, delta;
    DecodeOptions options;
};

ScatteredCase scattered_case(const test::TempDir& dir)
{
    ScatteredCase c;
    c.base = test::make_data(8 << 20, 11);
    std::uint64_t x = 12345;
    for (int i = 0; i < 300; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::size_t at = static_cast<std::size_t>((x >> 33) % (c.base.size() - 1024));
        c.target.insert(c.target.end(), c.base.begin() + static_cast<std::ptrdiff_t>(at),
                        c.base.begin() + static_cast<std::ptrdiff_t>(at + 1024));
    }
    c.target.insert(c.target.end(), c.base.begin(), c.base.end());
    c.delta = test_delta::stock_encode(dir, c.base, c.target, "-S none -B 16777216 -W 262144");
    c.options.spill_dir = dir.path();
    c.options.memory_limit = 512 << 10;
    c.options.framed = write_framed(dir / "full.zst", c.base, 1 << 20);
    return c;
}

TEST(SourceFrames, SmallPiecesFromFramesNoReaderKeepsAreWasteful)
{
    test::TempDir dir;
    const Bytes content = test::make_data(1 << 20, 5);
    const FramedSource framed = write_framed(dir / "full.zst", content, 64 << 10);
    const std::uint64_t tolerated = 256 << 10;
    // A pass in order gives what it decompresses, beyond what is tolerated too.
    detail::SourceFrames in_order(framed, "full", tolerated);
    Bytes all(content.size());
    in_order.copy_to(0, all);
    EXPECT_EQ(in_order.content_decompressed(), content.size());
    EXPECT_FALSE(in_order.wasteful());
    // 100 bytes from each of 8 frames in turn, which 4 readers cannot keep: a frame
    // decompressed each time. Not wasteful until more than `tolerated` was.
    detail::SourceFrames scattered(framed, "full", tolerated);
    Bytes got(100);
    for (std::uint64_t f = 0; f < 8; ++f) {
        EXPECT_EQ(scattered.wasteful(), scattered.content_decompressed() > tolerated) << f;
        scattered.copy_to(f * (64 << 10) + 10, got);
    }
    EXPECT_EQ(scattered.content_decompressed(), std::uint64_t{8} * (64 << 10));
    EXPECT_EQ(scattered.content_given(), 800u);
    EXPECT_TRUE(scattered.wasteful());
}

TEST(Decoder, RandomAccessThatDecompressesFarMoreThanItGivesIsGivenUp)
{
    test::TempDir dir;
    ScatteredCase c = scattered_case(dir);

    // Without the limit: right, but frames are decompressed again and again.
    c.options.frame_waste_tolerated = UINT64_MAX;
    DecodeResult unlimited;
    EXPECT_EQ(test_delta::decode_bytes(c.base, c.delta, c.options, &unlimited), c.target);
    EXPECT_FALSE(unlimited.frames_given_up);
    EXPECT_GT(unlimited.frame_content_decompressed, std::uint64_t{32} << 20);

    c.options.frame_waste_tolerated = 4 << 20;
    DecodeResult limited;
    EXPECT_EQ(test_delta::decode_bytes(c.base, c.delta, c.options, &limited), c.target);
    EXPECT_TRUE(limited.frames_given_up);
    // At most the request that crossed the limit more: a 64 KiB block spans two frames.
    EXPECT_LE(limited.frame_content_decompressed, std::uint64_t{6} << 20);
    EXPECT_GT(limited.spilled_bytes, 0u);  // the rest the forward way, set aside
}

}  // namespace test_engine_source_frames
}  // namespace pvediff::engine
