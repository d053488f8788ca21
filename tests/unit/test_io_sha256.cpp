// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>
#include <xxhash.h>

#include "pvediff/io/error.h"
#include "pvediff/io/xxh128.h"
#include "test_io_helpers.h"

namespace pvediff::io {
namespace {

using test::bytes_of;

std::string hash(std::string_view s)
{
    return test::sha256_hex(bytes_of(s));
}

TEST(IoSha256, KnownVectors)
{
    // FIPS 180-2 examples.
    EXPECT_EQ(hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    Sha256 million;
    const std::vector<std::uint8_t> a(1000, 'a');
    for (int i = 0; i < 1000; ++i) {
        million.update(a);
    }
    EXPECT_EQ(to_hex(million.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(IoSha256, IncrementalEqualsOneShot)
{
    const auto data = test::make_data(100000, 1);
    Sha256 pieces;
    for (std::size_t pos = 0, step = 1; pos < data.size(); pos += step, step = step * 3 + 1) {
        pieces.update(std::span(data).subspan(pos, std::min(step, data.size() - pos)));
    }
    pieces.update({});
    EXPECT_EQ(to_hex(pieces.finish()), test::sha256_hex(data));
}

TEST(IoSha256, FinishOnlyOnce)
{
    Sha256 sha;
    sha.update(bytes_of("x"));
    sha.finish();
    EXPECT_THROW(sha.finish(), Error);
    EXPECT_THROW(sha.update(bytes_of("y")), Error);
}

TEST(IoSha256, HexRoundTripAndValidation)
{
    const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    EXPECT_EQ(to_hex(digest_from_hex(hex)), hex);
    std::string upper = hex;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_EQ(digest_from_hex(upper), digest_from_hex(hex));
    EXPECT_THROW(digest_from_hex(""), Error);
    EXPECT_THROW(digest_from_hex(hex.substr(1)), Error);
    EXPECT_THROW(digest_from_hex(hex + "0"), Error);
    EXPECT_THROW(digest_from_hex("g" + hex.substr(1)), Error);
    EXPECT_THROW(digest_from_hex(" " + hex.substr(1)), Error);
}

TEST(IoSha256, HashingSourceMatchesSha256sum)
{
    test::TempDir dir;
    test::write_file(dir / "f", test::make_data(3 * 1024 * 1024 + 5, 2));
    FileSource file((dir / "f").string());
    HashingSource hashing(file);
    EXPECT_EQ(hashing.name(), (dir / "f").string());
    NullSink sink;
    EXPECT_EQ(copy_stream(hashing, sink, 77777), 3U * 1024 * 1024 + 5);
    EXPECT_EQ(hashing.bytes(), 3U * 1024 * 1024 + 5);
    EXPECT_EQ(to_hex(hashing.finish()), test::sha256_hex_of_file(dir / "f"));
}

TEST(IoSha256, HashingSinkPassesBytesThrough)
{
    const auto data = test::make_data(500000, 3);
    MemorySink out("out");
    HashingSink hashing(out);
    MemorySource in(data);
    copy_stream(in, hashing, 4096);
    hashing.finish();
    EXPECT_TRUE(out.finished());
    EXPECT_EQ(out.data(), data);
    EXPECT_EQ(hashing.bytes(), data.size());
    EXPECT_EQ(hashing.name(), "out");
    EXPECT_EQ(to_hex(hashing.digest()), test::sha256_hex(data));
}

// XXH3-128, plain and keyed: in parts or at once, the canonical form of libxxhash's
// own one-shot hash; a secret shorter than XXH3's minimum is refused.
TEST(IoXxh128, PlainAndKeyedMatchLibxxhashInPartsOrAtOnce)
{
    std::vector<std::uint8_t> data(300000);
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<std::uint8_t>(i * 131 + (i >> 7));
    }
    std::array<std::uint8_t, 192> secret{};
    for (std::size_t i = 0; i < secret.size(); ++i) {
        secret[i] = static_cast<std::uint8_t>(i * 37 + 11);
    }
    auto expected = [](const XXH128_hash_t h) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, h);
        Xxh128Digest d{};
        std::copy(std::begin(c.digest), std::end(c.digest), d.begin());
        return d;
    };
    const Xxh128Digest plain = expected(XXH3_128bits(data.data(), data.size()));
    const Xxh128Digest keyed =
        expected(XXH3_128bits_withSecret(data.data(), data.size(), secret.data(), secret.size()));
    EXPECT_NE(plain, keyed);
    EXPECT_EQ(xxh128(data), plain);
    EXPECT_EQ(xxh128(data, secret), keyed);
    Xxh128 p;
    Xxh128 k(secret);
    for (std::size_t at = 0; at < data.size(); at += 7777) {
        const auto part =
            std::span<const std::uint8_t>(data).subspan(at, std::min<std::size_t>(7777, data.size() - at));
        p.update(part);
        k.update(part);
    }
    EXPECT_EQ(p.finish(), plain);
    EXPECT_EQ(k.finish(), keyed);
    k.reset();
    k.update(data);
    EXPECT_EQ(k.finish(), keyed) << "reset starts again with the same secret";
    const std::array<std::uint8_t, 100> short_secret{};
    EXPECT_THROW(Xxh128{short_secret}, Error);
    EXPECT_THROW((void)xxh128(data, short_secret), Error);
}

}  // namespace
}  // namespace pvediff::io
