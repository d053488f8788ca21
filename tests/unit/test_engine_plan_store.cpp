// SPDX-License-Identifier: GPL-2.0-or-later
// The chunk encoder's plan on scratch disk (plan_store.h): every item reads back as it
// was made, from the file, the batch not yet written or the open last item, in
// whatever order it is asked for; the marks stay with their items.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "plan_store.h"
#include "test_util.h"

namespace pvediff::engine::detail {
namespace {

PlanItem item_number(std::size_t n)
{
    PlanItem item;
    item.source = n * 65536 + 7;
    item.alt_source = n * 3;
    item.length = static_cast<std::uint32_t>(n % 4096 + 1);
    item.adler = static_cast<std::uint32_t>(n * 2654435761U);
    item.check = static_cast<RangeCheck::Id>(n);
    item.changed = n % 5 == 0;
    item.has_check = n % 3 == 0;
    item.target_hash[0] = static_cast<std::uint8_t>(n);
    item.target_hash[15] = static_cast<std::uint8_t>(n >> 8);
    return item;
}

bool same(const PlanItem& a, const PlanItem& b)
{
    return a.source == b.source && a.alt_source == b.alt_source && a.length == b.length &&
           a.adler == b.adler && a.check == b.check && a.changed == b.changed && a.has_check == b.has_check &&
           a.target_hash == b.target_hash;
}

TEST(PlanStore, ItemsReadBackAsMadeInAnyOrder)
{
    test::TempDir dir;
    PlanStore plan(dir.path());
    constexpr std::size_t count = 5000;  // four batches in the file, one still in memory
    for (std::size_t n = 0; n < count; ++n) {
        plan.push(item_number(n));
        plan.marks(n).far = n % 7 == 0;
        plan.marks(n).source_seen = n % 2 == 0 ? SourceSeen::same : SourceSeen::differs;
    }
    ASSERT_EQ(plan.size(), count);
    // The file holds whole batches; the rest is in memory.
    std::mt19937 rng(42);
    std::uniform_int_distribution<std::size_t> any(0, count - 1);
    for (int i = 0; i < 20000; ++i) {
        const std::size_t n = any(rng);
        ASSERT_TRUE(same(plan.get(n), item_number(n))) << "item " << n;
        ASSERT_EQ(plan.marks(n).far, n % 7 == 0) << "item " << n;
    }
    for (std::size_t n = 0; n < count; ++n) {
        ASSERT_TRUE(same(plan.get(n), item_number(n))) << "item " << n;
        ASSERT_EQ(plan.marks(n).source_seen, n % 2 == 0 ? SourceSeen::same : SourceSeen::differs);
    }
}

TEST(PlanStore, TheLastItemGrowsUntilTheNextIsMade)
{
    test::TempDir dir;
    PlanStore plan(dir.path());
    for (std::size_t n = 0; n < 2048; ++n) {  // the next push writes a whole batch
        plan.push(item_number(n));
    }
    plan.back().length += 100;
    plan.back().target_hash[1] = 0xee;
    EXPECT_EQ(plan.get(2047).length, item_number(2047).length + 100);
    plan.push(item_number(2048));
    const PlanItem grown = plan.get(2047);
    EXPECT_EQ(grown.length, item_number(2047).length + 100);
    EXPECT_EQ(grown.target_hash[1], 0xee);
    EXPECT_TRUE(same(plan.get(2048), item_number(2048)));
    EXPECT_TRUE(same(plan.get(1023), item_number(1023)));  // from the file
}

TEST(PlanStore, ClearForgetsEverything)
{
    test::TempDir dir;
    PlanStore plan(dir.path());
    for (std::size_t n = 0; n < 3000; ++n) {
        plan.push(item_number(n));
    }
    (void)plan.get(5);  // cached
    plan.clear();
    EXPECT_TRUE(plan.empty());
    for (std::size_t n = 0; n < 3000; ++n) {
        plan.push(item_number(n + 1));
    }
    EXPECT_TRUE(same(plan.get(5), item_number(6)));  // not the cached block of before
    EXPECT_FALSE(plan.marks(5).far);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the scratch file has no name
}

}  // namespace
}  // namespace pvediff::engine::detail
