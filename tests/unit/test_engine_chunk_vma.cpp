// SPDX-License-Identifier: GPL-2.0-or-later
// The chunked encoder on VMA archives: clusters reordered from run to run, zero
// blocks left out, single 4 KiB pages rewritten. Each cluster is one chunk; a changed
// cluster is matched by position against the full's copy of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/file_stream.h"
#include "test_util.h"

namespace pvediff::engine {
// Not anonymous: the test binary is compiled in unity batches, where another file
// defines fixtures of the same names.
namespace test_engine_chunk_vma {

constexpr std::size_t cluster_size = 64 * 1024;
constexpr std::uint32_t clusters = 400;  // 25 MiB disk

// The order write_vma() stores the clusters in.
std::vector<std::uint32_t> cluster_order(std::uint32_t seed)
{
    std::vector<std::uint32_t> order(clusters);
    std::iota(order.begin(), order.end(), 0U);
    std::shuffle(order.begin(), order.end(), std::mt19937(seed));
    return order;
}

std::vector<std::uint8_t> write_vma(const std::vector<std::uint8_t>& disk, std::uint32_t seed)
{
    io::MemorySink sink;
    formats::Uuid uuid{};
    uuid[0] = static_cast<std::uint8_t>(seed);
    formats::VmaWriter w(sink, uuid, 1700000000 + seed, {{"qemu-server.conf", "memory: 2048\n"}},
                         {{"drive-scsi0", disk.size()}});
    for (const auto c : cluster_order(seed)) {
        w.add_cluster(1, c, std::span<const std::uint8_t>(disk.data() + c * cluster_size, cluster_size));
    }
    w.finish();
    return sink.data();
}

// VMA headers and extent headers carry a fresh uuid each run: literal every time.
constexpr std::uint64_t header_bytes = 4096 + (clusters / 50 + 2) * 512;
constexpr std::size_t block = 4096;

// A scratch dir with a disk image: each test changes `disk` and writes it as the full
// (day1.vma) and as the new archive (day2.vma), then encodes one against the other.
class ChunkEncoderVma : public ::testing::Test {
protected:
    test::TempDir dir;
    std::vector<std::uint8_t> disk;

    // Random disk content.
    void new_disk(std::uint32_t seed) { disk = test::make_data(clusters * cluster_size, seed); }
    // The disk as it is now, clusters stored in the order of `order_seed`.
    std::vector<std::uint8_t> write_day(const char* file, std::uint32_t order_seed)
    {
        auto vma = write_vma(disk, order_seed);
        test::write_file(dir / file, vma);
        return vma;
    }
    std::vector<std::uint8_t> write_day1(std::uint32_t order_seed)
    {
        return write_day("day1.vma", order_seed);
    }
    std::vector<std::uint8_t> write_day2(std::uint32_t order_seed)
    {
        return write_day("day2.vma", order_seed);
    }
    // Copies bytes inside the disk, as a guest copying a file does.
    void copy_on_disk(std::size_t from, std::size_t length, std::size_t to)
    {
        std::copy_n(disk.begin() + static_cast<std::ptrdiff_t>(from), length,
                    disk.begin() + static_cast<std::ptrdiff_t>(to));
    }

    // Options for encoding without a stored index: the index is built from the full,
    // which is then read a second time for fine matching.
    ChunkEncoderOptions without_stored_index(ChunkEncodeStats& stats)
    {
        ChunkEncoderOptions options;
        options.stats = &stats;
        options.spill_dir = dir.path();
        options.reopen_base = [this] { return io::open_file_source((dir / "day1.vma").string()); };
        return options;
    }

    // Options with the full indexed as `backup` does when it keeps a full, and the
    // sidecar loaded again.
    ChunkEncoderOptions with_stored_index(ChunkEncodeStats& stats)
    {
        ChunkEncoderOptions options;
        options.stats = &stats;
        {
            io::FileSource full((dir / "day1.vma").string());
            build_chunk_index(full, options.chunking, options.layout).save(dir / "day1.idx");
        }
        options.index = std::make_shared<const ChunkIndex>(ChunkIndex::load(dir / "day1.idx"));
        return options;
    }

    // Encodes day2.vma against day1.vma, checks that stock xdelta3 rebuilds it
    // exactly, returns the result.
    EncodeResult encode_and_check(const ChunkEncoderOptions& options)
    {
        io::FileSource base((dir / "day1.vma").string());
        io::FileSource target((dir / "day2.vma").string());
        io::MemorySink delta;
        const auto result = make_chunk_encoder(options)->encode(base, target, delta);
        test::write_file(dir / "d.vcdiff", delta.data());
        EXPECT_EQ(test::run("xdelta3 -d -f -s " + (dir / "day1.vma").string() + " " +
                            (dir / "d.vcdiff").string() + " " + (dir / "out").string()),
                  0);
        EXPECT_EQ(test::sha256_hex_of_file(dir / "out"), test::sha256_hex_of_file(dir / "day2.vma"));
        return result;
    }
};

TEST_F(ChunkEncoderVma, ReorderedClustersAndRewrittenPages)
{
    new_disk(3);
    // Zero blocks (left out of the VMA) here and there.
    for (std::size_t b = 0; b < disk.size() / 4096; b += 7) {
        std::fill_n(disk.begin() + static_cast<std::ptrdiff_t>(b * 4096), 4096, 0);
    }
    write_day1(1);
    // Day 2: 12 pages rewritten in place, one zero block filled.
    std::mt19937 rng(9);
    for (int i = 0; i < 12; ++i) {
        const std::size_t page = (rng() % (disk.size() / 4096)) | 1;
        const auto fresh = test::make_data(4096, 100 + static_cast<std::uint32_t>(i));
        std::copy(fresh.begin(), fresh.end(), disk.begin() + static_cast<std::ptrdiff_t>(page * 4096));
    }
    const auto fresh = test::make_data(4096, 200);
    std::copy(fresh.begin(), fresh.end(), disk.begin() + 7 * 4096);
    const auto day2 = write_day2(2);

    ChunkEncodeStats stats;
    const ChunkEncoderOptions options = with_stored_index(stats);
    EXPECT_EQ(options.index->cluster_count(), clusters);
    const auto result = encode_and_check(options);
    EXPECT_EQ(result.target_bytes, day2.size());
    // The 13 new pages, the VMA header and the extent headers (which carry a new
    // uuid), little more.
    EXPECT_LT(result.literal_bytes, 13 * 4096 + header_bytes * 2)
        << "gap " << stats.gap_bytes << " fine " << stats.fine_copied_bytes << " by position "
        << stats.clusters_by_position << " base " << stats.cluster_base_bytes << " chunks " << stats.chunks;
    EXPECT_GT(stats.clusters_by_position, 10U);
}

// A file copied inside the guest lands in other clusters at another block alignment:
// no whole cluster matches, but its 4 KiB blocks do. The index's sampled-block anchors
// name the old clusters, and the copy's shift carries over to the clusters without an
// anchor of their own.
TEST_F(ChunkEncoderVma, BlocksCopiedToOtherClustersAreFoundByAnchors)
{
    new_disk(5);
    write_day1(3);
    constexpr std::size_t copied_blocks = 160;  // 640 KiB, 10 clusters
    copy_on_disk(1003 * block, copied_blocks * block, 5011 * block);
    write_day2(4);

    ChunkEncodeStats stats;
    const ChunkEncoderOptions options = with_stored_index(stats);
    // One stored block in 32 is an anchor.
    EXPECT_GT(options.index->anchor_count(), clusters * 16 / 32 / 2);
    EXPECT_LT(options.index->anchor_count(), clusters * 16 / 32 * 2);
    const auto result = encode_and_check(options);
    EXPECT_GT(stats.anchor_hits, 0U);
    EXPECT_LT(result.literal_bytes, header_bytes * 2 + 64 * 1024)
        << "copied blocks " << copied_blocks * block << ", anchor hits " << stats.anchor_hits;
}

// A few blocks copied alone, too few for an anchor: the read of the full finds them
// by looking at every block position (BlockScan).
TEST_F(ChunkEncoderVma, SingleBlocksCopiedAreFoundByTheScan)
{
    new_disk(6);
    write_day1(5);
    // Two blocks each, to other positions in their clusters (6400 blocks in all).
    for (const auto& [from, to] :
         {std::pair{2003U, 5011U}, std::pair{3100U, 5555U}, std::pair{4500U, 6101U}}) {
        copy_on_disk(from * block, 2 * block, to * block);
    }
    write_day2(6);

    ChunkEncodeStats stats;
    const auto result = encode_and_check(without_stored_index(stats));
    EXPECT_GE(stats.scan_found_blocks, 6U);
    EXPECT_LT(result.literal_bytes, header_bytes * 2 + 4096) << "found " << stats.scan_found_blocks;
    EXPECT_EQ(stats.beyond_horizon, 0U);
    // Nothing of the scratch files is left.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) {
        ++files;
    }
    EXPECT_EQ(files, 4U) << "day1.vma, day2.vma, d.vcdiff, out";
}

// A file that sits in the full inside another file, at no block alignment (a
// package's files in its archive), written to blocks of its own in the new archive:
// no whole block of it is in the full, so neither anchors nor the block scan find it.
// The snippet scan does.
TEST_F(ChunkEncoderVma, BytesAtNoBlockAlignmentAreFoundBySnippets)
{
    new_disk(9);
    write_day1(5);
    constexpr std::size_t length = 48 * 1024;
    constexpr std::size_t from = 100 * cluster_size + 5 * 4096 + 1000;  // 1000: no multiple of 512
    constexpr std::size_t to = 300 * cluster_size + 2 * 4096;
    copy_on_disk(from, length, to);
    write_day2(6);

    ChunkEncodeStats stats;
    const auto result = encode_and_check(without_stored_index(stats));
    EXPECT_LE(stats.scan_found_blocks, 4U) << "the changed cluster's 4 unchanged blocks, no more";
    EXPECT_GT(stats.snippet_ranges, 0U);
    EXPECT_LT(result.literal_bytes, header_bytes * 2 + 4096) << "snippet ranges " << stats.snippet_ranges;
}

// Blocks copied from the cluster the full stores last into the cluster the new
// archive stores first: a restore would have to read the whole full before its first
// window. Beyond the restore horizon they are left out (literals instead).
TEST_F(ChunkEncoderVma, BlocksFarAheadOfARestoreAreLeftOut)
{
    new_disk(8);
    write_day1(5);
    const std::uint32_t last_in_full = cluster_order(5).back();
    const std::uint32_t first_in_new = cluster_order(6).front();
    ASSERT_NE(last_in_full, first_in_new);
    copy_on_disk(last_in_full * cluster_size + 3 * block, 2 * block, first_in_new * cluster_size + 7 * block);
    write_day2(6);

    ChunkEncodeStats far_stats;
    ChunkEncoderOptions options = without_stored_index(far_stats);
    const auto far = encode_and_check(options);  // the default horizon reaches it
    EXPECT_EQ(far_stats.beyond_horizon, 0U);

    ChunkEncodeStats near_stats;
    options.stats = &near_stats;
    options.restore_horizon = cluster_size;
    const auto near = encode_and_check(options);
    EXPECT_GT(near_stats.beyond_horizon, 0U);
    EXPECT_GE(near.literal_bytes, far.literal_bytes + 2 * block);
}

}  // namespace test_engine_chunk_vma
}  // namespace pvediff::engine
