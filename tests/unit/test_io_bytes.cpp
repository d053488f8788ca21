// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::io {
namespace {

constexpr std::array<std::uint8_t, 8> sample{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

TEST(IoBytes, LoadsBothByteOrders)
{
    EXPECT_EQ(load_be16(sample.data()), 0x0123U);
    EXPECT_EQ(load_be32(sample.data()), 0x01234567U);
    EXPECT_EQ(load_be64(sample.data()), 0x0123456789abcdefULL);
    EXPECT_EQ(load_le16(sample.data()), 0x2301U);
    EXPECT_EQ(load_le32(sample.data()), 0x67452301U);
    EXPECT_EQ(load_le64(sample.data()), 0xefcdab8967452301ULL);
    // High bits survive (no sign extension through int promotion).
    const std::array<std::uint8_t, 8> ff{0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8};
    EXPECT_EQ(load_be64(ff.data()), 0xfffefdfcfbfaf9f8ULL);
    EXPECT_EQ(load_le32(ff.data()), 0xfcfdfeffU);
}

TEST(IoBytes, StoresRoundTripAndMatchTheLoads)
{
    std::array<std::uint8_t, 8> b{};
    store_be64(b.data(), 0x0123456789abcdefULL);
    EXPECT_EQ(b, sample);
    store_le64(b.data(), 0xefcdab8967452301ULL);
    EXPECT_EQ(b, sample);
    b.fill(0);
    store_be32(b.data(), 0xdeadbeefU);
    EXPECT_EQ(b, (std::array<std::uint8_t, 8>{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}));
    store_le16(b.data() + 6, 0x1234U);
    EXPECT_EQ(b[6], 0x34);
    EXPECT_EQ(b[7], 0x12);
    store_be16(b.data(), 0xa55aU);
    EXPECT_EQ(load_be16(b.data()), 0xa55aU);
    store_le32(b.data(), 0x89abcdefU);
    EXPECT_EQ(load_le32(b.data()), 0x89abcdefU);
    store_le64(b.data(), 0x8000000000000001ULL);
    EXPECT_EQ(load_le64(b.data()), 0x8000000000000001ULL);
}

TEST(IoBytes, AppendsInTheGivenOrder)
{
    std::vector<std::uint8_t> out;
    append_be16(out, 0x0102);
    append_be32(out, 0x03040506);
    append_le32(out, 0x0a090807);
    append_be64(out, 0x0b0c0d0e0f101112ULL);
    append_le64(out, 0x1a19181716151413ULL);
    append_le16(out, 0x1c1b);
    std::vector<std::uint8_t> want;
    for (std::uint8_t i = 1; i <= 0x1c; ++i) {
        want.push_back(i);
    }
    EXPECT_EQ(out, want);
}

TEST(IoBytes, ReaderReadsInSequenceAndReportsFileOffsets)
{
    const std::vector<std::uint8_t> data{0x7f, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x04, 0x00,
                                         0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xaa, 0xbb};
    ByteReader r(data, "f.bin", 1000);
    EXPECT_EQ(r.u8(), 0x7f);
    EXPECT_EQ(r.be16(), 2U);
    EXPECT_EQ(r.be32(), 3U);
    EXPECT_EQ(r.offset(), 1007U);
    EXPECT_EQ(r.le64(), 4U);
    const auto rest = r.bytes(2);
    ASSERT_EQ(rest.size(), 2U);
    EXPECT_EQ(rest[0], 0xaa);
    EXPECT_EQ(r.remaining(), 0U);
    r.seek(1);
    EXPECT_EQ(r.le16(), 0x0200U);
    EXPECT_EQ(r.position(), 3U);
    r.skip(4);
    EXPECT_EQ(r.le32(), 4U);
}

// Every integer width, cut at every length short of it: the read throws a parse
// error naming the file and the offset of the read, and the reader stays where it was.
TEST(IoBytes, ReaderThrowsOnTruncationAtEveryLength)
{
    const std::array<std::uint8_t, 8> full{1, 2, 3, 4, 5, 6, 7, 8};
    struct Width {
        std::size_t size;
        void (*read)(ByteReader&);
    };
    const Width widths[] = {
        {1, [](ByteReader& r) { (void)r.u8(); }},   {2, [](ByteReader& r) { (void)r.be16(); }},
        {2, [](ByteReader& r) { (void)r.le16(); }}, {4, [](ByteReader& r) { (void)r.be32(); }},
        {4, [](ByteReader& r) { (void)r.le32(); }}, {8, [](ByteReader& r) { (void)r.be64(); }},
        {8, [](ByteReader& r) { (void)r.le64(); }}, {8, [](ByteReader& r) { (void)r.bytes(8); }},
        {8, [](ByteReader& r) { r.skip(8); }},
    };
    for (const Width& w : widths) {
        for (std::size_t len = 0; len <= w.size; ++len) {
            // One byte consumed first, so the reported offset is not just the base.
            std::vector<std::uint8_t> data{0x55};
            data.insert(data.end(), full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
            ByteReader r(data, "/dump/x.idx", 40);
            ASSERT_EQ(r.u8(), 0x55);
            if (len == w.size) {
                EXPECT_NO_THROW(w.read(r)) << "width " << w.size << " len " << len;
                EXPECT_EQ(r.remaining(), 0U);
                continue;
            }
            try {
                w.read(r);
                ADD_FAILURE() << "no error for width " << w.size << " with " << len << " bytes";
            } catch (const Error& e) {
                const std::string msg = e.what();
                EXPECT_NE(msg.find("'/dump/x.idx'"), std::string::npos) << msg;
                EXPECT_NE(msg.find("offset 41"), std::string::npos) << msg;
                EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
            }
            EXPECT_EQ(r.position(), 1U);
            EXPECT_EQ(r.remaining(), len);
        }
    }
}

TEST(IoBytes, ReaderRefusesSeekPastTheEndAndHugeLengths)
{
    const std::array<std::uint8_t, 4> data{1, 2, 3, 4};
    ByteReader r(data, "f", 0);
    EXPECT_NO_THROW(r.seek(4));
    EXPECT_THROW(r.seek(5), Error);
    r.seek(0);
    EXPECT_THROW((void)r.bytes(SIZE_MAX), Error);
    EXPECT_THROW(r.skip(SIZE_MAX), Error);
    EXPECT_EQ(r.be32(), 0x01020304U);
}

TEST(IoBytes, FailNamesTheFileAndOffset)
{
    const std::array<std::uint8_t, 4> data{};
    ByteReader r(data, "a.vma", 4096);
    r.skip(2);
    try {
        r.fail("bad extent magic");
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "'a.vma': offset 4098: bad extent magic");
    }
    EXPECT_THROW(r.fail_at(0, "x"), Error);
}

}  // namespace
}  // namespace pvediff::io
