// SPDX-License-Identifier: GPL-2.0-or-later
// The smaller-of encoder (issue 17): on small inputs the chunked encoder's delta is
// compared with plain xdelta3's and the smaller kept; larger inputs go through the
// chunked encoder alone, unchanged.
#include <gtest/gtest.h>

#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/engine/smaller_of_encoder.h"
#include "pvediff/io/codec.h"
#include "test_engine_delta_helpers.h"
#include "test_util.h"

namespace pvediff::engine {
namespace {

std::vector<std::uint8_t> encode_with(Encoder& e, const std::vector<std::uint8_t>& base,
                                      const std::vector<std::uint8_t>& target, EncodeResult* result = nullptr)
{
    io::MemorySource b(base, "<full>");
    io::MemorySource t(target, "<new>");
    io::MemorySink out;
    const EncodeResult r = e.encode(b, t, out);
    if (result != nullptr) {
        *result = r;
    }
    return out.data();
}

std::size_t zstd19(const std::vector<std::uint8_t>& delta)
{
    io::MemorySink out;
    io::CompressOptions o;
    o.level = 19;
    auto z = io::make_compressor(out, io::Codec::zstd, o);
    z->write(delta);
    z->finish();
    return out.data().size();
}

// A 1-byte shift of a 7-byte period: every chunk looks alike, and the chunked
// encoder's delta was 1.5 x stock xdelta3's (compressed) before.
std::pair<std::vector<std::uint8_t>, std::vector<std::uint8_t>> period7_shift(std::size_t size)
{
    const auto period = test::make_data(7, 3);
    std::vector<std::uint8_t> base(size);
    for (std::size_t i = 0; i < size; ++i) {
        base[i] = period[i % 7];
    }
    std::vector<std::uint8_t> target{'x'};
    target.insert(target.end(), base.begin(), base.end() - 1);
    return {base, target};
}

TEST(SmallerOfEncoder, KeepsTheSmallerDeltaAndItRebuildsTheTarget)
{
    const test::TempDir dir;
    const auto base = test::make_data(400000, 1);
    const auto target = test_delta::shuffled(base, 1500, 7);
    for (const auto& [full, fresh] : {std::pair{base, target}, period7_shift(400000)}) {
        auto chunked = make_chunk_encoder();
        // Plain xdelta3 as the wrapper runs it: the whole full in its source window.
        Xdelta3Options xo;
        xo.source_window = std::max<std::uint64_t>(std::uint64_t{8} << 20, full.size());
        xo.target_window = fresh.size();
        auto xdelta3 = make_xdelta3_encoder(xo);
        auto both = make_smaller_of_encoder(make_chunk_encoder());
        EncodeResult r;
        const auto d = encode_with(*both, full, fresh, &r);
        const std::size_t size = zstd19(d);
        EXPECT_LE(size, zstd19(encode_with(*chunked, full, fresh)));
        EXPECT_LE(size, zstd19(encode_with(*xdelta3, full, fresh)));
        const std::size_t stock = zstd19(test_delta::stock_encode(dir, full, fresh, ""));
        EXPECT_LE(static_cast<double>(size), 1.02 * static_cast<double>(stock)) << size << " vs " << stock;
        EXPECT_EQ(test_delta::decode_bytes(full, d), fresh);
        EXPECT_EQ(test_delta::stock_decode(dir, full, d), fresh);
        EXPECT_EQ(r.base_bytes, full.size());
        EXPECT_EQ(r.target_bytes, fresh.size());
        EXPECT_EQ(r.delta_bytes, d.size());
    }
}

TEST(SmallerOfEncoder, LargerInputsGoThroughThePrimaryAloneUnchanged)
{
    const auto [base, target] = period7_shift(300000);
    SmallerOfOptions small;
    small.max_input_bytes = 100000;
    auto chunked = make_chunk_encoder();
    const auto alone = encode_with(*chunked, base, target);
    // The new archive too large, then only the full.
    auto wrapped = make_smaller_of_encoder(make_chunk_encoder(), small);
    EncodeResult r;
    EXPECT_EQ(encode_with(*wrapped, base, target, &r), alone);
    EXPECT_EQ(r.target_bytes, target.size());
    const std::vector<std::uint8_t> short_target(target.begin(), target.begin() + 50000);
    auto wrapped2 = make_smaller_of_encoder(make_chunk_encoder(), small);
    auto chunked2 = make_chunk_encoder();
    const auto d = encode_with(*wrapped2, base, short_target);
    EXPECT_EQ(d, encode_with(*chunked2, base, short_target));
    EXPECT_EQ(test_delta::decode_bytes(base, d), short_target);
}

}  // namespace
}  // namespace pvediff::engine
