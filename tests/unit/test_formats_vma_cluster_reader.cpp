// SPDX-License-Identifier: GPL-2.0-or-later
// VmaClusterReader against VmaWriter: every cluster back in the order written, with
// left-out blocks as zeros; a stream cut anywhere or with a bad block count is an
// error naming the stream, never a crash or a short cluster.
#include <gtest/gtest.h>

#include <cstring>

#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/error.h"

namespace pvediff::formats {
namespace {

using vma::cluster_size;

// Device 1: 3 clusters (one all zeros, one with a zero block); device 2: 1.5 clusters.
struct Sample {
    std::vector<std::vector<std::uint8_t>> clusters;  // in written order, 64 KiB each
    std::vector<std::pair<std::uint8_t, std::uint32_t>> keys;
    std::vector<std::uint8_t> vma;
};

Sample make_sample()
{
    Sample s;
    io::MemorySink sink;
    VmaWriter w(sink, Uuid{1, 2, 3}, 1790000000, {{"qemu-server.conf", "memory: 512\n"}},
                {{"drive-scsi0", 3 * cluster_size}, {"drive-scsi1", cluster_size + cluster_size / 2}});
    auto add = [&](std::uint8_t dev, std::uint32_t n, std::size_t length, std::uint8_t fill) {
        std::vector<std::uint8_t> data(length, fill);
        if (fill != 0 && length > 2 * vma::block_size) {
            std::memset(data.data() + vma::block_size, 0, vma::block_size);  // a left-out block
        }
        w.add_cluster(dev, n, data);
        data.resize(cluster_size, 0);
        s.clusters.push_back(data);
        s.keys.emplace_back(dev, n);
    };
    add(1, 0, cluster_size, 0x11);
    add(1, 1, cluster_size, 0);
    add(1, 2, cluster_size, 0x33);
    add(2, 0, cluster_size, 0x44);
    add(2, 1, cluster_size / 2, 0x55);
    w.finish();
    s.vma = sink.data();
    return s;
}

TEST(VmaClusterReader, GivesBackEveryClusterInOrder)
{
    const Sample s = make_sample();
    io::MemorySource src(s.vma, "s.vma");
    VmaClusterReader r(src);
    ASSERT_EQ(r.header().devices.size(), 2U);
    EXPECT_EQ(r.header().devices[1].name, "drive-scsi1");
    for (std::size_t i = 0; i < s.clusters.size(); ++i) {
        const auto c = r.next();
        ASSERT_TRUE(c) << i;
        EXPECT_EQ(c->dev_id, s.keys[i].first);
        EXPECT_EQ(c->cluster, s.keys[i].second);
        ASSERT_EQ(c->data.size(), cluster_size);
        EXPECT_TRUE(std::equal(c->data.begin(), c->data.end(), s.clusters[i].begin())) << i;
    }
    EXPECT_FALSE(r.next());
}

TEST(VmaClusterReader, StreamCutAnywhereIsAnErrorOrAnEarlyEnd)
{
    const Sample s = make_sample();
    for (std::size_t cut = 0; cut < s.vma.size(); cut += 509) {
        std::vector<std::uint8_t> part(s.vma.begin(), s.vma.begin() + static_cast<std::ptrdiff_t>(cut));
        io::MemorySource src(part, "cut.vma");
        std::size_t seen = 0;
        try {
            VmaClusterReader r(src);
            while (r.next()) {
                ++seen;
            }
            // Only a cut at an extent boundary ends cleanly (the caller checks the count).
            EXPECT_LT(seen, s.clusters.size()) << cut;
        } catch (const io::Error& e) {
            EXPECT_NE(std::string(e.what()).find("cut.vma"), std::string::npos) << e.what();
        }
    }
}

TEST(VmaClusterReader, BlockCountAgainstTheMasksIsChecked)
{
    Sample s = make_sample();
    // The first extent header follows the header; its block count is at offset 6.
    io::MemorySource probe(s.vma, "p.vma");
    const std::uint32_t header_size = VmaClusterReader(probe).header().header_size;
    s.vma[header_size + 7] ^= 1;
    io::MemorySource src(s.vma, "bad.vma");
    VmaClusterReader r(src);
    EXPECT_THROW(r.next(), io::Error);
}

}  // namespace
}  // namespace pvediff::formats
