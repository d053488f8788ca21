// SPDX-License-Identifier: GPL-2.0-or-later
// The lzop container in detail: files built here field by field, from the format's
// facts (restated below, independently of src/io), with every flag lzop knows. Each
// accepted variant is also checked with the real `lzop -t`/`lzop -d`, which proves the
// builder right; each refused one must fail clearly, naming file and offset.
#include <gtest/gtest.h>
#include <lzo/lzo1x.h>

#include <optional>
#include <random>

#include "pvediff/io/error.h"
#include "test_io_helpers.h"

namespace pvediff::io {
namespace {

constexpr std::uint32_t adler32_d = 0x1, adler32_c = 0x2, extra_field = 0x40, crc32_d = 0x100,
                        crc32_c = 0x200, multipart = 0x400, filter = 0x800, header_crc32 = 0x1000,
                        os_unix = 0x03000000;

struct Spec {
    std::uint16_t version = 0x1040;
    std::uint16_t needed = 0x0940;
    std::uint8_t method = 1;
    std::uint8_t level = 5;
    std::uint32_t flags = os_unix | adler32_d;
    std::string file_name;
    std::optional<std::vector<std::uint8_t>> extra;
    std::size_t block_size = 256 * 1024;
    bool bad_header_sum = false;
    bool bad_extra_sum = false;
};

void put16(std::vector<std::uint8_t>& v, std::uint32_t x)
{
    v.push_back(static_cast<std::uint8_t>(x >> 8));
    v.push_back(static_cast<std::uint8_t>(x));
}

void put32(std::vector<std::uint8_t>& v, std::uint32_t x)
{
    put16(v, x >> 16);
    put16(v, x & 0xFFFF);
}

std::uint32_t sum_of(bool crc, std::span<const std::uint8_t> d)
{
    return crc ? lzo_crc32(0, d.data(), d.size()) : lzo_adler32(1, d.data(), d.size());
}

std::vector<std::uint8_t> header(const Spec& s)
{
    std::vector<std::uint8_t> h;
    put16(h, s.version);
    put16(h, 0x20a0);
    const bool modern = s.version >= 0x0940;
    if (modern) {
        put16(h, s.needed);
    }
    h.push_back(s.method);
    if (modern) {
        h.push_back(s.level);
    }
    put32(h, s.flags);
    if (s.flags & filter) {
        put32(h, 1);
    }
    put32(h, 0100644);
    put32(h, 1700000000);
    if (modern) {
        put32(h, 0);
    }
    h.push_back(static_cast<std::uint8_t>(s.file_name.size()));
    h.insert(h.end(), s.file_name.begin(), s.file_name.end());
    const bool crc = (s.flags & header_crc32) != 0;
    put32(h, sum_of(crc, h) ^ (s.bad_header_sum ? 1U : 0U));
    if (s.flags & extra_field) {
        std::vector<std::uint8_t> e;
        put32(e, static_cast<std::uint32_t>(s.extra->size()));
        e.insert(e.end(), s.extra->begin(), s.extra->end());
        const std::uint32_t esum = sum_of(crc, e) ^ (s.bad_extra_sum ? 1U : 0U);
        h.insert(h.end(), e.begin(), e.end());
        put32(h, esum);
    }
    const std::uint8_t magic[] = {0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A};
    h.insert(h.begin(), std::begin(magic), std::end(magic));
    return h;
}

void append_block(std::vector<std::uint8_t>& out, std::uint32_t flags, std::span<const std::uint8_t> block)
{
    std::vector<std::uint8_t> packed(block.size() + block.size() / 16 + 67);
    std::vector<std::uint64_t> work(LZO1X_1_MEM_COMPRESS / 8 + 1);
    lzo_uint clen = packed.size();
    EXPECT_EQ(lzo1x_1_compress(block.data(), block.size(), packed.data(), &clen, work.data()), LZO_E_OK);
    const bool is_packed = clen < block.size();
    const std::span<const std::uint8_t> stored =
        is_packed ? std::span<const std::uint8_t>(packed.data(), clen) : block;
    put32(out, static_cast<std::uint32_t>(block.size()));
    put32(out, static_cast<std::uint32_t>(stored.size()));
    if (flags & adler32_d) {
        put32(out, sum_of(false, block));
    }
    if (flags & crc32_d) {
        put32(out, sum_of(true, block));
    }
    if ((flags & adler32_c) && is_packed) {
        put32(out, sum_of(false, stored));
    }
    if ((flags & crc32_c) && is_packed) {
        put32(out, sum_of(true, stored));
    }
    out.insert(out.end(), stored.begin(), stored.end());
}

std::vector<std::uint8_t> build(const Spec& s, std::span<const std::uint8_t> data)
{
    auto out = header(s);
    for (std::size_t pos = 0; pos < data.size(); pos += s.block_size) {
        append_block(out, s.flags, data.subspan(pos, std::min(s.block_size, data.size() - pos)));
    }
    put32(out, 0);
    return out;
}

// Text-like data with an incompressible stretch, so some blocks are stored raw.
std::vector<std::uint8_t> sample_text()
{
    auto data = test::make_data(700 * 1024, 21);
    std::mt19937 rng(5);
    for (std::size_t i = 300 * 1024; i < 600 * 1024; ++i) {
        data[i] = static_cast<std::uint8_t>(rng());
    }
    return data;
}

std::string decode_error(const std::vector<std::uint8_t>& file)
{
    try {
        test::decompress_all(make_decompressor(std::make_unique<MemorySource>(file, "t.lzo"), Codec::lzo));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

class LzopTest : public ::testing::Test {
protected:
    // True if lzop itself accepts the file and extracts exactly `data`.
    bool lzop_agrees(const std::vector<std::uint8_t>& file, const std::vector<std::uint8_t>& data)
    {
        test::write_file(dir_ / "t.lzo", file);
        const std::string f = test::shell_quote((dir_ / "t.lzo").string());
        const std::string out = test::shell_quote((dir_ / "t.out").string());
        return test::run("lzop -t -q " + f + " 2>/dev/null && lzop -d -c " + f + " > " + out) == 0 &&
               test::read_file(dir_ / "t.out") == data;
    }
    test::TempDir dir_;
};

TEST_F(LzopTest, DecodesEveryChecksumCombination)
{
    const auto data = sample_text();
    const std::uint32_t variants[] = {
        0,
        adler32_d,
        adler32_d | adler32_c,
        adler32_c,
        crc32_d,
        crc32_d | crc32_c | header_crc32,
        adler32_d | crc32_d | adler32_c | crc32_c,
        header_crc32,
    };
    for (const std::uint32_t flags : variants) {
        SCOPED_TRACE("flags " + std::to_string(flags));
        Spec s;
        s.flags = os_unix | flags;
        const auto file = build(s, data);
        // lzop itself asserts that a compressed-data checksum comes with the
        // uncompressed one (it never writes one alone); we take either.
        if (flags != adler32_c) {
            EXPECT_TRUE(lzop_agrees(file, data));
        }
        EXPECT_EQ(
            test::decompress_all(make_decompressor(std::make_unique<MemorySource>(file), Codec::lzo), 999),
            data);
    }
}

TEST_F(LzopTest, DecodesHeaderVariants)
{
    const auto data = sample_text();
    std::vector<Spec> specs(6);
    specs[0].file_name = "vzdump-qemu-101-2026_11_20-01_00_00.vma";
    specs[1].extra = std::vector<std::uint8_t>(300, 0xAB);
    specs[1].flags |= extra_field;
    specs[2].extra = std::vector<std::uint8_t>{};
    specs[2].flags |= extra_field | header_crc32;
    specs[3].method = 3;  // LZO1X-999: same decoder
    specs[3].level = 9;
    specs[4].method = 2;  // LZO1X-1(15)
    specs[4].level = 1;
    // Larger blocks than lzop's 256 KiB: the format allows up to 64 MiB, a stock
    // lzop binary refuses them ("block size too small -- recompile lzop"), we read them.
    specs[5].block_size = 8 * 1024 * 1024;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        SCOPED_TRACE("spec " + std::to_string(i));
        const auto file = build(specs[i], data);
        if (i != 5) {
            EXPECT_TRUE(lzop_agrees(file, data));
        }
        EXPECT_EQ(test::decompress_all(make_decompressor(std::make_unique<MemorySource>(file), Codec::lzo)),
                  data);
    }
}

TEST_F(LzopTest, DecodesPre094Header)
{
    // Before lzop 0.94 the header had no version_needed, level or mtime_high.
    Spec s;
    s.version = 0x0930;
    const auto data = test::make_data(50000, 3);
    const auto file = build(s, data);
    EXPECT_TRUE(lzop_agrees(file, data));
    EXPECT_EQ(test::decompress_all(make_decompressor(std::make_unique<MemorySource>(file), Codec::lzo)),
              data);
}

struct BadCase {
    const char* label;
    std::vector<std::uint8_t> file;
    const char* message;
};

TEST_F(LzopTest, RefusesBadFilesClearly)
{
    const auto data = test::make_data(100000, 4);
    std::vector<BadCase> cases;
    auto with = [&](const char* label, const char* message, auto&& change) {
        Spec s;
        change(s);
        cases.push_back({label, build(s, data), message});
    };
    with("header sum", "header checksum mismatch", [](Spec& s) { s.bad_header_sum = true; });
    with("header crc", "header checksum mismatch", [](Spec& s) {
        s.flags |= header_crc32;
        s.bad_header_sum = true;
    });
    with("extra sum", "extra field checksum mismatch", [](Spec& s) {
        s.flags |= extra_field;
        s.extra = std::vector<std::uint8_t>(5, 1);
        s.bad_extra_sum = true;
    });
    with("nrv method", "unsupported compression method 26", [](Spec& s) { s.method = 0x1a; });
    with("zlib method", "unsupported compression method 128", [](Spec& s) { s.method = 128; });
    with("needs newer", "needs lzop version 0x2000", [](Spec& s) { s.needed = 0x2000; });
    with("ancient", "unsupported lzop format version 0x800", [](Spec& s) { s.version = 0x0800; });
    with("multipart", "multipart", [](Spec& s) { s.flags |= multipart; });
    with("reserved flag", "unknown flags 0x4000", [](Spec& s) { s.flags |= 0x4000; });
    with("filter", "filter 1 is not supported", [](Spec& s) { s.flags |= filter; });

    Spec plain;
    const auto good = build(plain, data);
    const std::size_t first_block = header(plain).size();
    auto patched = [&](std::size_t offset, std::uint32_t value) {
        auto f = good;
        for (int i = 0; i < 4; ++i) {
            f[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
        }
        return f;
    };
    cases.push_back(
        {"huge block", patched(first_block, 64 * 1024 * 1024 + 1), "exceeds the maximum of 64 MiB"});
    cases.push_back({"split marker", patched(first_block, 0xFFFFFFFF), "exceeds the maximum of 64 MiB"});
    cases.push_back({"clen > ulen", patched(first_block + 4, 100001), "bad compressed block length"});
    cases.push_back({"clen 0", patched(first_block + 4, 0), "bad compressed block length"});
    cases.push_back({"data adler", patched(first_block + 8, 12345), "adler32 of uncompressed block"});
    {
        Spec s;
        s.flags = os_unix | crc32_d | crc32_c;
        auto f = build(s, data);
        const std::size_t at = header(s).size() + 12;  // ulen, clen, d crc, then c crc
        f[at] ^= 0xFF;
        cases.push_back({"compressed crc", f, "crc32 of compressed block"});
    }
    cases.push_back(
        {"bad magic", std::vector<std::uint8_t>(good.begin() + 1, good.end()), "not an lzop file"});
    {
        // No checksums at all: damaged LZO data must still not crash or overrun.
        Spec s;
        s.flags = os_unix;
        auto f = build(s, data);
        for (std::size_t i = header(s).size() + 8; i < f.size() - 4; i += 7) {
            f[i] = static_cast<std::uint8_t>(f[i] * 31 + 7);
        }
        cases.push_back({"mangled lzo data", f, "lzo1x: corrupt compressed block"});
    }

    for (const auto& c : cases) {
        SCOPED_TRACE(c.label);
        const std::string msg = decode_error(c.file);
        EXPECT_EQ(msg.rfind("'t.lzo': offset ", 0), 0U) << msg;
        EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
    }
    // lzop agrees that the corrupt ones (not merely unsupported ones) are bad.
    for (const auto& c : cases) {
        if (std::string_view(c.label).find("sum") != std::string_view::npos ||
            std::string_view(c.label).find("crc") != std::string_view::npos ||
            std::string_view(c.label) == "data adler" || std::string_view(c.label) == "huge block") {
            SCOPED_TRACE(c.label);
            EXPECT_FALSE(lzop_agrees(c.file, data));
        }
    }
}

}  // namespace
}  // namespace pvediff::io
