// SPDX-License-Identifier: GPL-2.0-or-later
// The decoder's stash: spilled pieces give their disk space back when released, in
// whatever order their last uses come, not only when the stash is empty.
#include <gtest/gtest.h>

#include "source_stash.h"
#include "test_util.h"

namespace pvediff::engine {
namespace {

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

TEST(SourceStash, ReleasedSpilledPiecesGiveTheirDiskSpaceBack)
{
    test::TempDir dir;
    SourceStash stash(dir.path(), 0);  // everything spills
    const auto data = test::make_data(8 * mib, 3);
    const std::span<const std::uint8_t> bytes(data);
    // Spilled in offset order; the first half is needed until window 9, the second
    // only until window 1 (late windows copying from early in the full).
    stash.put(0, bytes.first(4 * mib), 9);
    stash.put(4 * mib, bytes.subspan(4 * mib), 1);
    ASSERT_EQ(stash.spilled_bytes(), 8 * mib);
    EXPECT_GE(stash.spill_disk_bytes(), 8 * mib);

    stash.release_through(1);
    EXPECT_EQ(stash.kept_bytes(), 4 * mib);
    // Only the bytes still kept hold disk space (a few file system blocks of slack).
    EXPECT_LE(stash.spill_disk_bytes(), 4 * mib + 64 * 1024);
    EXPECT_EQ(stash.spilled_peak_bytes(), 8 * mib);

    // What is still kept reads back intact.
    std::vector<std::uint8_t> back(4 * mib);
    stash.copy_to(0, back);
    EXPECT_TRUE(std::equal(back.begin(), back.end(), data.begin()));

    stash.release_through(9);
    EXPECT_EQ(stash.kept_bytes(), 0u);
    EXPECT_EQ(stash.spill_disk_bytes(), 0u);
}

}  // namespace
}  // namespace pvediff::engine
