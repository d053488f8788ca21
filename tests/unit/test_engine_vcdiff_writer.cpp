// SPDX-License-Identifier: GPL-2.0-or-later
// The window writer's output must decode with stock xdelta3, byte for byte.
#include <gtest/gtest.h>

#include <random>

#include "pvediff/engine/vcdiff_writer.h"
#include "pvediff/io/error.h"
#include "test_engine_delta_helpers.h"
#include "test_util.h"

namespace pvediff::engine {
namespace {

using test::TempDir;

using test_delta::stock_decode;  // the real xdelta3 CLI applies each delta

// Random instruction stream: copies from anywhere in the base (far back and forth),
// literals and runs of all sizes, including the small ones that use paired opcodes.
struct Scenario {
    std::vector<std::uint8_t> target;
    std::vector<std::uint8_t> delta;
    VcdiffWriterStats stats;
};

Scenario random_scenario(const std::vector<std::uint8_t>& base, std::size_t target_size,
                         VcdiffWriterOptions options, std::uint32_t seed)
{
    Scenario s;
    io::MemorySink sink;
    VcdiffWriter w(sink, options);
    std::mt19937_64 rng(seed);
    const auto literal = test::make_data(1 << 20, seed + 1);
    while (s.target.size() < target_size) {
        const auto kind = rng() % 10;
        std::size_t len = (rng() % 4 == 0) ? 1 + rng() % 20 : 1 + rng() % 200000;
        len = std::min(len, target_size - s.target.size());
        if (kind < 6) {
            len = std::min(len, base.size());
            const std::uint64_t off = rng() % (base.size() - len + 1);
            std::span<const std::uint8_t> bytes(base.data() + off, len);
            w.copy(off, bytes);
            s.target.insert(s.target.end(), bytes.begin(), bytes.end());
            if (rng() % 3 == 0 && off + len + 100 <= base.size()) {
                // contiguous copy split in two calls: the writer merges them
                std::span<const std::uint8_t> more(base.data() + off + len, 100);
                w.copy(off + len, more);
                s.target.insert(s.target.end(), more.begin(), more.end());
            }
        } else if (kind < 9) {
            len = std::min(len, literal.size());
            const std::size_t off = rng() % (literal.size() - len + 1);
            std::span<const std::uint8_t> bytes(literal.data() + off, len);
            w.add(bytes);
            s.target.insert(s.target.end(), bytes.begin(), bytes.end());
        } else {
            const auto byte = static_cast<std::uint8_t>(rng());
            w.run(byte, len);
            s.target.insert(s.target.end(), len, byte);
        }
    }
    w.finish();
    s.stats = w.stats();
    s.delta = sink.data();
    return s;
}

TEST(VcdiffWriter, RandomInstructionsDecodeWithXdelta3)
{
    TempDir dir;
    const auto base = test::make_data(6 << 20, 7);
    VcdiffWriterOptions options;
    options.window_size = 1 << 20;
    options.max_source_span = 2 << 20;  // forces windows to close on far jumps
    const auto s = random_scenario(base, 5 << 20, options, 11);
    EXPECT_EQ(s.stats.target_bytes, s.target.size());
    EXPECT_EQ(s.stats.delta_bytes, s.delta.size());
    EXPECT_GE(s.stats.windows, 5U);
    EXPECT_EQ(stock_decode(dir, base, s.delta), s.target);
}

TEST(VcdiffWriter, LargeTargetSeveralWindows)
{
    TempDir dir;
    const auto base = test::make_data(8 << 20, 3);
    VcdiffWriterOptions options;
    options.window_size = 4 << 20;
    const auto s = random_scenario(base, 20 << 20, options, 5);
    EXPECT_GE(s.stats.windows, 5U);
    EXPECT_EQ(stock_decode(dir, base, s.delta), s.target);
}

TEST(VcdiffWriter, FarJumpsBackAndForth)
{
    TempDir dir;
    const auto base = test::make_data(4 << 20, 9);
    io::MemorySink sink;
    VcdiffWriterOptions options;
    options.max_source_span = 3 << 20;
    VcdiffWriter w(sink, options);
    std::vector<std::uint8_t> target;
    const std::uint64_t offsets[] = {(4 << 20) - 5000, 0, (2 << 20) + 17, 100, (4 << 20) - 4096, 12345};
    for (int round = 0; round < 3; ++round) {
        for (const auto off : offsets) {
            std::span<const std::uint8_t> bytes(base.data() + off, 4096);
            w.copy(off, bytes);
            target.insert(target.end(), bytes.begin(), bytes.end());
            const std::uint8_t lit[3] = {1, 2, 3};
            w.add(lit);
            target.insert(target.end(), lit, lit + 3);
        }
    }
    w.finish();
    EXPECT_GE(w.stats().windows, 2U);
    EXPECT_EQ(stock_decode(dir, base, sink.data()), target);
}

TEST(VcdiffWriter, EmptyTarget)
{
    TempDir dir;
    io::MemorySink sink;
    VcdiffWriter w(sink);
    w.finish();
    EXPECT_EQ(w.stats().windows, 1U);  // one empty window, like xdelta3 writes
    EXPECT_TRUE(stock_decode(dir, test::make_data(1000, 1), sink.data()).empty());
}

TEST(VcdiffWriter, IdenticalTargetIsTiny)
{
    TempDir dir;
    const auto base = test::make_data(20 << 20, 4);
    io::MemorySink sink;
    VcdiffWriter w(sink);
    for (std::size_t off = 0; off < base.size(); off += 65536) {
        w.copy(off, std::span<const std::uint8_t>(base.data() + off,
                                                  std::min<std::size_t>(65536, base.size() - off)));
    }
    w.finish();
    EXPECT_EQ(w.stats().copied_bytes, base.size());
    EXPECT_LT(sink.data().size(), 200U);
    EXPECT_EQ(stock_decode(dir, base, sink.data()), base);
}

// Keeps the bytes and where the writer marked a boundary (io::ByteSink::mark_boundary).
class BoundarySink final : public io::ByteSink {
public:
    void write(std::span<const std::uint8_t> data) override
    {
        bytes.insert(bytes.end(), data.begin(), data.end());
    }
    void finish() override {}
    void mark_boundary() override { boundaries.push_back(bytes.size()); }
    [[nodiscard]] const std::string& name() const override { return name_; }

    std::vector<std::uint8_t> bytes;
    std::vector<std::size_t> boundaries;

private:
    std::string name_ = "delta";
};

TEST(VcdiffWriter, LongDataSectionsAreMarkedAsBlocksOfTheirOwn)
{
    TempDir dir;
    const auto base = test::make_data(1 << 20, 5);
    const auto fresh = test::make_data(10'000, 6);
    BoundarySink sink;
    VcdiffWriter w(sink, {.window_size = 64 << 10});
    // Window 1, exactly full: a short ADD between copies, not marked.
    w.copy(0, std::span(base).first(30'000));
    w.add(std::span(fresh).first(100));
    w.copy(40'000, std::span(base).subspan(40'000, 35'436));
    EXPECT_TRUE(sink.boundaries.empty());
    // Window 2: 10,000 new bytes, marked before and after, where the data section lies.
    w.copy(80'000, std::span(base).subspan(80'000, 10'000));
    w.add(fresh);
    w.copy(95'000, std::span(base).subspan(95'000, 5'000));
    w.finish();
    EXPECT_EQ(w.stats().windows, 2U);
    ASSERT_EQ(sink.boundaries.size(), 2U);
    EXPECT_EQ(sink.boundaries[1] - sink.boundaries[0], fresh.size());
    EXPECT_TRUE(std::equal(fresh.begin(), fresh.end(),
                           sink.bytes.begin() + static_cast<std::ptrdiff_t>(sink.boundaries[0])));
    std::vector<std::uint8_t> target(base.begin(), base.begin() + 30'000);
    target.insert(target.end(), fresh.begin(), fresh.begin() + 100);
    target.insert(target.end(), base.begin() + 40'000, base.begin() + 75'436);
    target.insert(target.end(), base.begin() + 80'000, base.begin() + 90'000);
    target.insert(target.end(), fresh.begin(), fresh.end());
    target.insert(target.end(), base.begin() + 95'000, base.begin() + 100'000);
    EXPECT_EQ(stock_decode(dir, base, sink.bytes), target);
}

TEST(VcdiffWriter, ChecksumIsVerifiedByXdelta3)
{
    TempDir dir;
    const auto base = test::make_data(100000, 2);
    io::MemorySink sink;
    VcdiffWriter w(sink);
    std::vector<std::uint8_t> wrong(base.begin() + 10, base.begin() + 5000);
    wrong[100] ^= 1;  // claims bytes the copy does not produce
    w.copy(10, wrong);
    w.finish();
    test::write_file(dir / "base", base);
    test::write_file(dir / "delta", sink.data());
    EXPECT_NE(test::run("xdelta3 -d -f -s " + (dir / "base").string() + " " + (dir / "delta").string() + " " +
                        (dir / "out").string() + " 2>/dev/null"),
              0);
}

// Copies placed so that each address mode of RFC 3284's cache is the cheapest once:
// self (absolute), here (just behind the current position), near (a little after a
// recent address, also in ADD+COPY pairs) and same (an address seen before, gone from
// the near cache). Stock xdelta3 and our decoder must both rebuild the target.
TEST(VcdiffWriter, EveryAddressModeDecodesWithXdelta3AndOurDecoder)
{
    TempDir dir;
    const auto base = test::make_data(4 << 20, 12);
    io::MemorySink sink;
    VcdiffWriter w(sink);
    std::vector<std::uint8_t> target;
    const std::uint8_t lit[3] = {7, 8, 9};
    auto copy = [&](std::uint64_t off, std::size_t len, bool literal_before) {
        if (literal_before) {
            w.add(lit);
            target.insert(target.end(), lit, lit + 3);
        }
        const std::span<const std::uint8_t> bytes(base.data() + off, len);
        w.copy(off, bytes);
        target.insert(target.end(), bytes.begin(), bytes.end());
    };
    const std::uint64_t far_ones[] = {1000000, 3000000, 3500000, 500000};
    copy(0, 4096, false);              // self, 1-byte address
    copy(2000000, 4096, true);         // self
    copy(2000100, 5, true);            // near, in an ADD+COPY pair
    copy(2000300, 4096, true);         // near
    for (const auto off : far_ones) {  // fill the near cache with others
        copy(off, 4096, true);
    }
    copy(2000000, 4, true);                 // same, paired with its ADD
    copy(2000100, 5, true);                 // same, COPY size 5: emitted singly
    copy(base.size() - 4096, 4096, true);   // here: the segment's end is close behind
    copy(base.size() - 8192, 6000, false);  // here or near
    w.finish();
    EXPECT_EQ(w.stats().windows, 1U);

    test::write_file(dir / "delta", sink.data());
    ASSERT_EQ(test::run("xdelta3 printdelta " + (dir / "delta").string() + " > " + (dir / "print").string()),
              0);
    const auto printed = test::read_file(dir / "print");
    const std::string text(printed.begin(), printed.end());
    auto used = [&](int first, int last) {
        for (int m = first; m <= last; ++m) {
            if (text.find("CPY_" + std::to_string(m) + " ") != std::string::npos) {
                return true;
            }
        }
        return false;
    };
    EXPECT_TRUE(used(0, 0)) << "self\n" << text;
    EXPECT_TRUE(used(1, 1)) << "here\n" << text;
    EXPECT_TRUE(used(2, 5)) << "near\n" << text;
    EXPECT_TRUE(used(6, 8)) << "same\n" << text;
    EXPECT_EQ(stock_decode(dir, base, sink.data()), target);
    EXPECT_EQ(test_delta::decode_bytes(base, sink.data()), target);
}

TEST(VcdiffWriter, RejectsBadOptions)
{
    io::MemorySink sink;
    EXPECT_THROW(VcdiffWriter(sink, VcdiffWriterOptions{std::uint64_t{32} << 20, 1 << 20}), io::Error);
    EXPECT_THROW(VcdiffWriter(sink, VcdiffWriterOptions{1 << 20, std::uint64_t{4} << 30}), io::Error);
}

}  // namespace
}  // namespace pvediff::engine
