// SPDX-License-Identifier: GPL-2.0-or-later
// The plain xdelta3 encoder: round trips through engine::decode and stock xdelta3,
// SHA-256 and figures, a source window smaller than the distance of the matches.
#include <gtest/gtest.h>

#include "pvediff/engine/delta.h"
#include "pvediff/engine/vcdiff_scan.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "test_engine_delta_helpers.h"

namespace pvediff::engine {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes edited(const Bytes& base)
{
    Bytes t = base;
    t.insert(t.begin() + 1000, 300, 'x');
    t.erase(t.begin() + 200000, t.begin() + 210000);
    for (std::size_t i = 500000; i < t.size(); i += 250000) {
        t[i] ^= 0x5A;
    }
    const Bytes tail = test::make_data(70000, 99);
    t.insert(t.end(), tail.begin(), tail.end());
    return t;
}

Bytes encode_bytes(const Bytes& base, const Bytes& target, Xdelta3Options options, EncodeResult* result)
{
    io::MemorySource b(base, "<full>");
    io::MemorySource t(target, "<new>");
    io::MemorySink out;
    *result = make_xdelta3_encoder(options)->encode(b, t, out);
    return out.data();
}

io::Digest sha(const Bytes& data)
{
    io::Sha256 s;
    s.update(data);
    return s.finish();
}

TEST(Xdelta3Encoder, RoundTripThroughOurDecoderAndStockXdelta3)
{
    test::TempDir dir;
    const Bytes base = test::make_data(20 << 20, 4);  // more than one 8 MiB window
    const Bytes target = edited(base);
    EncodeResult r;
    const Bytes delta = encode_bytes(base, target, {}, &r);
    EXPECT_EQ(r.target_bytes, target.size());
    EXPECT_EQ(r.target_sha256, sha(target));
    EXPECT_EQ(r.delta_bytes, delta.size());
    EXPECT_GE(r.windows, 3u);
    EXPECT_GT(r.copied_bytes, target.size() * 9 / 10);
    EXPECT_LE(r.copied_bytes + r.literal_bytes, target.size());
    EXPECT_LT(delta.size(), target.size() / 10);

    EXPECT_EQ(test_delta::decode_bytes(base, delta), target);
    EXPECT_EQ(test_delta::stock_decode(dir, base, delta), target);

    // Plain sections, checksums on every window, no application header.
    io::MemorySource src(delta, "<delta>");
    std::uint64_t with_adler = 0;
    const ScanSummary s = scan_vcdiff(src, [&](const ScannedWindow& w) { with_adler += w.adler32 ? 1 : 0; });
    EXPECT_FALSE(s.header.secondary_id.has_value());
    EXPECT_EQ(s.header.app_header_length, 0u);
    EXPECT_EQ(s.coarse_windows, 0u);
    EXPECT_EQ(with_adler, s.windows);
}

TEST(Xdelta3Encoder, MatchesBeyondTheSourceWindowAreLiterals)
{
    const Bytes base = test::make_data(4 << 20, 5);
    // The target starts with the full's last MiB, then its beginning.
    Bytes target(base.end() - (1 << 20), base.end());
    target.insert(target.end(), base.begin(), base.begin() + (1 << 20));
    Xdelta3Options small;
    small.source_window = 512 * 1024;
    EncodeResult r;
    const Bytes delta = encode_bytes(base, target, small, &r);
    EXPECT_EQ(test_delta::decode_bytes(base, delta), target);
    EXPECT_LE(r.base_bytes, base.size());

    Xdelta3Options big;
    big.source_window = 8 << 20;
    EncodeResult r2;
    const Bytes delta2 = encode_bytes(base, target, big, &r2);
    EXPECT_EQ(test_delta::decode_bytes(base, delta2), target);
    EXPECT_LT(delta2.size(), delta.size());
}

TEST(Xdelta3Encoder, EmptyInputs)
{
    for (const auto& [base, target] :
         {std::pair{Bytes{}, Bytes{}}, std::pair{Bytes{}, test::make_data(1000, 1)},
          std::pair{test::make_data(1000, 1), Bytes{}}}) {
        EncodeResult r;
        const Bytes delta = encode_bytes(base, target, {}, &r);
        EXPECT_EQ(test_delta::decode_bytes(base, delta), target);
        EXPECT_EQ(r.target_sha256, sha(target));
    }
}

TEST(Xdelta3Encoder, Registry)
{
    EXPECT_EQ(make_encoder("xdelta3")->name(), "xdelta3");
    try {
        make_encoder("nonsense");
        ADD_FAILURE();
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("xdelta3"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace pvediff::engine
