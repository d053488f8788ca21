// SPDX-License-Identifier: GPL-2.0-or-later
// The model of vzdump's cluster order (formats/vma_cluster_order.h): a permutation,
// reproducible per seed, and of the shape the real sample shows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "pvediff/formats/vma_cluster_order.h"
#include "test_formats_helpers.h"

namespace pvediff::formats {
namespace {

constexpr std::uint32_t chunk = 16;

// The shape of a delivery order: clusters of one 16-cluster chunk come in ascending
// order, and at no point are more than `max_in_flight` chunks started and unfinished.
// Returns the largest number in flight, or -1 if a chunk went backwards.
int max_chunks_in_flight(const std::vector<std::uint32_t>& order, std::uint32_t clusters)
{
    std::map<std::uint32_t, std::uint32_t> next_in_chunk;  // chunk -> next cluster expected
    std::set<std::uint32_t> in_flight;
    std::size_t most = 0;
    for (const std::uint32_t c : order) {
        const std::uint32_t k = c / chunk;
        const auto it = next_in_chunk.find(k);
        if (it != next_in_chunk.end() && c < it->second) {
            return -1;
        }
        next_in_chunk[k] = c + 1;
        in_flight.insert(k);
        most = std::max(most, in_flight.size());
        if (c + 1 == std::min((k + 1) * chunk, clusters)) {
            in_flight.erase(k);
        }
    }
    return static_cast<int>(most);
}

TEST(VmaClusterOrder, EveryClusterExactlyOnce)
{
    for (const std::uint32_t clusters : {1U, 15U, 16U, 17U, 1000U, 4099U}) {
        auto order = vma_cluster_order(clusters, 5);
        ASSERT_EQ(order.size(), clusters);
        std::sort(order.begin(), order.end());
        std::vector<std::uint32_t> all(clusters);
        std::iota(all.begin(), all.end(), 0U);
        EXPECT_EQ(order, all) << clusters;
    }
    EXPECT_TRUE(vma_cluster_order(0, 1).empty());
}

TEST(VmaClusterOrder, SameSeedSameOrderOtherSeedOtherOrder)
{
    EXPECT_EQ(vma_cluster_order(2000, 1), vma_cluster_order(2000, 1));
    EXPECT_NE(vma_cluster_order(2000, 1), vma_cluster_order(2000, 2));
}

TEST(VmaClusterOrder, ChunksAscendAndAtMostTheWorkersAreInFlight)
{
    const auto order = vma_cluster_order(5000, 3);
    const int most = max_chunks_in_flight(order, 5000);
    EXPECT_GE(most, 2);
    EXPECT_LE(most, 8);
    VmaClusterOrderModel four;
    four.workers = 4;
    EXPECT_LE(max_chunks_in_flight(vma_cluster_order(5000, 3, four), 5000), 4);
    EXPECT_GE(max_chunks_in_flight(vma_cluster_order(5000, 3, four), 5000), 2);
}

TEST(VmaClusterOrder, ChunksInterleaveOneClusterAtATime)
{
    // The tasks' clusters interleave, so few neighbours follow each other, and no
    // cluster is far from disk order: within two rounds of 8 chunks.
    const auto order = vma_cluster_order(4096, 4);
    std::size_t sequential = 0;
    for (std::size_t i = 1; i < order.size(); ++i) {
        sequential += order[i] == order[i - 1] + 1 ? 1 : 0;
    }
    EXPECT_LT(sequential, order.size() / 3);
    for (std::size_t i = 0; i < order.size(); ++i) {
        EXPECT_LT(order[i] > i ? order[i] - i : i - order[i], 2U * 8U * chunk) << i;
    }
}

// The real sample's order (tests/data/dissect-test.vma.gz, a PVE backup) has the
// shape the model makes: 1 MiB chunks ascending, 8 of them in flight at most.
TEST(VmaClusterOrder, RealSampleHasTheModelledShape)
{
    const std::vector<std::uint8_t> vma = test::fixture_vma();
    ASSERT_EQ(vma.size(), 538112U);
    std::vector<std::uint32_t> order;
    std::size_t off = 12800;  // header_size of the sample
    while (off + 512 <= vma.size()) {
        ASSERT_EQ(std::memcmp(vma.data() + off, "VMAE", 4), 0) << off;
        const std::size_t blocks = std::size_t{vma[off + 6]} << 8 | vma[off + 7];
        for (std::size_t slot = 0; slot < 59; ++slot) {
            std::uint64_t info = 0;
            for (std::size_t i = 0; i < 8; ++i) {
                info = info << 8 | vma[off + 40 + slot * 8 + i];
            }
            if (((info >> 32) & 0xff) != 0) {
                order.push_back(static_cast<std::uint32_t>(info));
            }
        }
        off += 512 + blocks * 4096;
    }
    ASSERT_EQ(order.size(), 116U);
    EXPECT_EQ(max_chunks_in_flight(order, 163840), 8);  // 10 GiB = 163,840 clusters
}

}  // namespace
}  // namespace pvediff::formats
