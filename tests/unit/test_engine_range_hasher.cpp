// SPDX-License-Identifier: GPL-2.0-or-later
// The proof's source ranges hashed on the one read of the full (range_hasher.h): each
// range's hash is that of the full's bytes there, however the read is cut into
// pieces, whether the ranges were sorted in memory or on scratch disk.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <random>

#include "pvediff/io/error.h"
#include "range_hasher.h"
#include "test_util.h"

namespace pvediff::engine::detail {
namespace {

ProofKey test_key(std::uint8_t seed)
{
    std::array<std::uint8_t, ProofKey::secret_size> secret{};
    for (std::size_t i = 0; i < secret.size(); ++i) {
        secret[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
    }
    return ProofKey(secret);
}

struct Range {
    std::uint64_t off;
    std::uint64_t len;
};

// Feeds `full` in pieces of 1 to max_piece bytes; returns what was reported for each
// range, `index` telling a slot's range.
std::vector<std::optional<ProofHash>> hash_all(
    RangeHasher& hasher, const std::vector<std::uint8_t>& full, std::size_t ranges, std::size_t max_piece,
    std::mt19937& rng, const std::function<std::size_t(RangeHasher::Slot)>& index = [](auto s) { return s; })
{
    std::vector<std::optional<ProofHash>> got(ranges);
    for (std::size_t pos = 0; pos < full.size();) {
        const std::size_t n = std::min<std::size_t>(full.size() - pos, 1 + rng() % max_piece);
        hasher.feed(pos, std::span<const std::uint8_t>(full).subspan(pos, n),
                    [&](RangeHasher::Slot s, const ProofHash& h) {
                        ASSERT_FALSE(got[index(s)].has_value()) << "slot " << s << " reported twice";
                        got[index(s)] = h;
                    });
        pos += n;
    }
    return got;
}

TEST(RangeHasher, HashesRangesStraddlingPiecesOfAnySize)
{
    test::TempDir dir;
    const auto full = test::make_data(3 << 20, 5);
    const ProofKey key = test_key(3);
    std::mt19937 rng(7);
    std::vector<Range> ranges;
    for (int i = 0; i < 500; ++i) {
        const std::uint64_t len = 1 + rng() % (1 << 20);
        ranges.push_back({rng() % (full.size() - len), len});
    }
    ranges.push_back(ranges[3]);                               // the same range twice
    ranges.push_back({ranges[5].off, ranges[5].len / 2 + 1});  // the same start, shorter, asked later
    ranges.push_back({full.size() - 10, 20});                  // beyond the end: never reported
    RangeHasher hasher(key, dir.path());
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        hasher.want(ranges[i].off, ranges[i].len, i);
    }
    const auto got = hash_all(hasher, full, ranges.size(), 300000, rng);
    for (std::size_t i = 0; i + 1 < ranges.size(); ++i) {
        ASSERT_TRUE(got[i].has_value()) << i;
        EXPECT_EQ(*got[i],
                  key.hash(std::span<const std::uint8_t>(full).subspan(ranges[i].off, ranges[i].len)));
    }
    EXPECT_FALSE(got.back().has_value());
}

// More ranges than one sorted run holds (a VMA's copies, one per cluster): sorted on
// scratch disk and merged as the read goes; slots as large as a 4 TiB guest's.
TEST(RangeHasher, ManyRangesSortedOnScratchDisk)
{
    test::TempDir dir;
    const auto full = test::make_data(4 << 20, 9);
    const ProofKey key = test_key(4);
    std::mt19937 rng(11);
    constexpr std::size_t count = 300000;  // > 256 Ki records in a run
    std::vector<Range> ranges;
    RangeHasher hasher(key, dir.path());
    const RangeHasher::Slot high = RangeHasher::max_slot - count;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t len = 1 + rng() % 512;
        ranges.push_back({rng() % (full.size() - len), len});
        hasher.want(ranges[i].off, ranges[i].len, i % 2 == 0 ? i : high + i);
    }
    EXPECT_EQ(hasher.wanted(), count);
    const auto got =
        hash_all(hasher, full, count, 100000, rng, [high](auto s) { return s >= high ? s - high : s; });
    for (std::size_t i = 0; i < count; ++i) {
        ASSERT_TRUE(got[i].has_value()) << i;
        ASSERT_EQ(*got[i],
                  key.hash(std::span<const std::uint8_t>(full).subspan(ranges[i].off, ranges[i].len)))
            << i;
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the scratch file has no name
}

TEST(RangeHasher, RefusesASlotTooLargeAndWantsAfterFeed)
{
    test::TempDir dir;
    const ProofKey key = test_key(5);
    RangeHasher hasher(key, dir.path());
    EXPECT_THROW(hasher.want(0, 10, RangeHasher::max_slot), io::Error);
    hasher.want(0, 10, 1);
    const std::vector<std::uint8_t> bytes(20, 1);
    hasher.feed(0, bytes, [](RangeHasher::Slot, const ProofHash&) {});
    EXPECT_THROW(hasher.want(0, 10, 2), io::Error);
}

}  // namespace
}  // namespace pvediff::engine::detail
