// SPDX-License-Identifier: GPL-2.0-or-later
// engine::InStepDecoder: a differential that copies from the full at the same place is
// decoded while the full is read once, keeping only the last bytes of the full; one
// that copies from elsewhere is refused, a damaged window is an error.
#include <gtest/gtest.h>

#include <algorithm>

#include "pvediff/engine/in_step_decoder.h"
#include "pvediff/engine/vcdiff_writer.h"
#include "pvediff/io/sha256.h"
#include "test_util.h"

namespace pvediff::engine {
// Not anonymous: the test binary is compiled in unity batches, where another file
// defines fixtures of the same names.
namespace test_engine_in_step_decoder {

constexpr std::size_t block = 1 << 20;
constexpr std::size_t blocks = 12;
constexpr std::size_t keep = 4 << 20;

std::string sha256_hex(std::span<const std::uint8_t> data)
{
    io::Sha256 sha;
    sha.update(data);
    return io::to_hex(sha.finish());
}

struct Pair {
    std::vector<std::uint8_t> full = test::make_data(blocks * block, 7);
    std::vector<std::uint8_t> target;
    std::vector<std::uint8_t> delta;
};

// Target block i: half a block copied from the full's block `from(i)`, half literals.
template <typename From>
Pair make_pair(const From& from)
{
    Pair p;
    const auto literals = test::make_data(blocks * block / 2, 8);
    io::MemorySink sink;
    VcdiffWriter w(sink, VcdiffWriterOptions{std::uint64_t{3} << 20, std::uint64_t{1} << 30});
    for (std::size_t i = 0; i < blocks; ++i) {
        const auto copied = std::span(p.full).subspan(from(i) * block + 1000, block / 2);
        w.copy(from(i) * block + 1000, copied);
        p.target.insert(p.target.end(), copied.begin(), copied.end());
        const auto lit = std::span(literals).subspan(i * block / 2, block / 2);
        w.add(lit);
        p.target.insert(p.target.end(), lit.begin(), lit.end());
    }
    w.finish();
    p.delta = sink.data();
    return p;
}

// Reads block i of the full, then block i of the target, as the plan path does.
std::vector<std::uint8_t> decode_in_step(const Pair& p)
{
    io::MemorySource full_source(p.full, "full");
    RecentBytes recent(full_source, keep);
    InStepDecoder decoder(std::make_unique<io::MemorySource>(p.delta, "previous"), recent);
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> buf(block);
    for (std::size_t i = 0; i < blocks; ++i) {
        EXPECT_EQ(io::read_full(recent, buf), block);
        EXPECT_EQ(io::read_full(decoder, buf), block);
        out.insert(out.end(), buf.begin(), buf.end());
    }
    EXPECT_EQ(decoder.read(buf), 0U);  // the end, the last window checked
    return out;
}

TEST(InStepDecoder, CopiesFromTheFullAtTheSamePlace)
{
    const Pair p = make_pair([](std::size_t i) { return i; });
    EXPECT_EQ(sha256_hex(decode_in_step(p)), sha256_hex(p.target));
}

TEST(InStepDecoder, RefusesACopyOfBytesNoLongerKept)
{
    const Pair p = make_pair([](std::size_t i) { return i < 8 ? i : 0; });
    EXPECT_THROW(decode_in_step(p), InStepRefused);
}

TEST(InStepDecoder, RefusesACopyOfBytesNotYetRead)
{
    const Pair p = make_pair([](std::size_t i) { return std::min(i + 2, blocks - 1); });
    EXPECT_THROW(decode_in_step(p), InStepRefused);
}

TEST(InStepDecoder, AWrongWindowChecksumIsAnError)
{
    Pair p = make_pair([](std::size_t i) { return i; });
    // A literal byte of the first window changed: its Adler-32 no longer matches.
    const auto literals = test::make_data(blocks * block / 2, 8);
    const auto at = std::search(p.delta.begin(), p.delta.end(), literals.begin(), literals.begin() + 64);
    ASSERT_NE(at, p.delta.end());
    *(at + 10) ^= 0x01;
    try {
        decode_in_step(p);
        FAIL() << "no error";
    } catch (const InStepRefused&) {
        FAIL() << "refused instead of failing";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("Adler-32"), std::string::npos) << e.what();
    }
}

}  // namespace test_engine_in_step_decoder
}  // namespace pvediff::engine
