// SPDX-License-Identifier: GPL-2.0-or-later
// io::ZstdFrameReader: a frame named by its place and size gives back exactly its
// content; anything but one whole checksummed frame of the expected size is refused
// with the file and the offset.
#include <gtest/gtest.h>
#include <zstd.h>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/zstd_frame_reader.h"
#include "test_util.h"

namespace pvediff::io {
namespace {

using test::TempDir;

std::vector<std::uint8_t> compress_frame(const std::vector<std::uint8_t>& data, bool checksum = true)
{
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
    std::vector<std::uint8_t> out(ZSTD_compressBound(data.size()));
    const std::size_t n = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
    ZSTD_freeCCtx(cctx);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

class FrameReaderTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        a_ = test::make_data(300'000, 1);
        b_ = test::make_data(70'000, 2);
        fa_ = compress_frame(a_);
        fb_ = compress_frame(b_);
        auto file = fa_;
        file.insert(file.end(), fb_.begin(), fb_.end());
        write(file);
    }
    void write(const std::vector<std::uint8_t>& bytes)
    {
        std::filesystem::remove(path_);
        test::write_file(path_, bytes);
    }
    ZstdFrameReader open() { return ZstdFrameReader(open_regular_file(path_), path_.string()); }

    TempDir dir_;
    std::filesystem::path path_ = dir_ / "full.vma.zst";
    std::vector<std::uint8_t> a_, b_, fa_, fb_;
};

TEST_F(FrameReaderTest, GivesEachFrameExactlyAndKeepsTheLast)
{
    auto r = open();
    const auto sa = r.frame(0, static_cast<std::uint32_t>(fa_.size()), a_.size());
    EXPECT_EQ(std::vector<std::uint8_t>(sa.begin(), sa.end()), a_);
    const auto sb = r.frame(fa_.size(), static_cast<std::uint32_t>(fb_.size()), b_.size());
    EXPECT_EQ(std::vector<std::uint8_t>(sb.begin(), sb.end()), b_);
    EXPECT_EQ(r.frames_read(), 2U);
    EXPECT_EQ(r.bytes_read(), fa_.size() + fb_.size());
    (void)r.frame(fa_.size(), static_cast<std::uint32_t>(fb_.size()), b_.size());
    EXPECT_EQ(r.frames_read(), 2U);  // the same frame again: no work
    EXPECT_EQ(r.bytes_read(), fa_.size() + fb_.size());
}

TEST_F(FrameReaderTest, RefusesAWrongSize)
{
    auto r = open();
    const auto size = static_cast<std::uint32_t>(fa_.size());
    const std::string e = test::error_of([&] { (void)r.frame(0, size, a_.size() - 1); });
    EXPECT_NE(e.find(fmt::format("'{}': offset 0: zstd frame:", path_.string())), std::string::npos) << e;
    EXPECT_NE(test::error_of([&] { (void)r.frame(0, size, a_.size() + 1); }), "");
    EXPECT_NE(test::error_of([&] { (void)r.frame(0, size, ZstdFrameReader::max_frame_bytes + 1); }), "");
    // The good call still works after refusals.
    EXPECT_EQ(r.frame(0, size, a_.size()).size(), a_.size());
}

TEST_F(FrameReaderTest, RefusesATruncatedFrameOrTwoFrames)
{
    auto r = open();
    const std::string cut =
        test::error_of([&] { (void)r.frame(0, static_cast<std::uint32_t>(fa_.size() - 10), a_.size()); });
    EXPECT_NE(cut.find("offset 0: zstd frame: not one whole frame"), std::string::npos) << cut;
    const std::string two = test::error_of(
        [&] { (void)r.frame(0, static_cast<std::uint32_t>(fa_.size() + fb_.size()), a_.size()); });
    EXPECT_NE(two.find("the first frame ends after"), std::string::npos) << two;
    const std::string past = test::error_of(
        [&] { (void)r.frame(fa_.size(), static_cast<std::uint32_t>(fb_.size() + 1), b_.size()); });
    EXPECT_NE(past.find(path_.string()), std::string::npos) << past;
    EXPECT_NE(test::error_of([&] { (void)r.frame(1, static_cast<std::uint32_t>(fa_.size()), a_.size()); }),
              "");
}

TEST_F(FrameReaderTest, RefusesACorruptedByteAndAFrameWithoutChecksum)
{
    auto file = fa_;
    file[file.size() - 2] ^= 0x40;  // inside the content checksum
    write(file);
    {
        auto r = open();
        const std::string e =
            test::error_of([&] { (void)r.frame(0, static_cast<std::uint32_t>(file.size()), a_.size()); });
        EXPECT_NE(e.find("checksum"), std::string::npos) << e;
    }
    file = fa_;
    file[file.size() / 2] ^= 0x01;  // inside the compressed data
    write(file);
    {
        auto r = open();
        EXPECT_NE(
            test::error_of([&] { (void)r.frame(0, static_cast<std::uint32_t>(file.size()), a_.size()); }),
            "");
    }
    file = compress_frame(a_, false);
    write(file);
    {
        auto r = open();
        const std::string e =
            test::error_of([&] { (void)r.frame(0, static_cast<std::uint32_t>(file.size()), a_.size()); });
        EXPECT_NE(e.find("no content checksum"), std::string::npos) << e;
    }
}

}  // namespace
}  // namespace pvediff::io
