// SPDX-License-Identifier: GPL-2.0-or-later
// VMA header parsing, the strict verifier and the writer, against the real fixture
// and synthetic archives.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_verify.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "test_formats_helpers.h"

namespace pvediff::formats {
namespace {

VmaVerifyReport verify_bytes(std::vector<std::uint8_t> data)
{
    io::MemorySource src(std::move(data), "x.vma");
    return verify_vma(src);
}

std::string problems_of(const VmaVerifyReport& r)
{
    std::string s;
    for (const auto& p : r.problems) {
        s += p + "\n";
    }
    return s;
}

bool has_problem(const VmaVerifyReport& r, const std::string& needle)
{
    return std::any_of(r.problems.begin(), r.problems.end(),
                       [&](const std::string& p) { return p.find(needle) != std::string::npos; });
}

void put_be64(std::uint8_t* p, std::uint64_t v)
{
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<std::uint8_t>(v);
        v >>= 8;
    }
}

// Re-signs an extent header after a test edited it.
void resign_extent(std::vector<std::uint8_t>& data, std::size_t at)
{
    const Md5 md5 = vma_extent_md5(std::span(data).subspan(at, 512));
    std::memcpy(data.data() + at + 24, md5.data(), 16);
}

TEST(VmaFixture, HeaderFacts)
{
    const auto data = test::fixture_vma();
    ASSERT_EQ(data.size(), 538112U);
    const auto header_size = vma_header_size(std::span(data).first(vma::header_prefix_size), "f");
    EXPECT_EQ(header_size, 12800U);
    const VmaHeader h = parse_vma_header(std::span(data).first(header_size), "f");
    EXPECT_EQ(format_uuid(h.uuid), "04fc12eb-0fed-4322-9aaa-f4e412f68096");
    EXPECT_EQ(format_utc(h.ctime), "2021-10-31 11:43:42 UTC");
    EXPECT_EQ(h.version, 1U);
    EXPECT_EQ(h.blob_buffer_offset, 12288U);
    EXPECT_EQ(h.blob_buffer_size, 453U);
    ASSERT_EQ(h.devices.size(), 1U);
    EXPECT_EQ(h.devices[0].id, 1);
    EXPECT_EQ(h.devices[0].name, "drive-scsi0");
    EXPECT_EQ(h.devices[0].size, 10ULL << 30);
    ASSERT_EQ(h.configs.size(), 1U);
    EXPECT_EQ(h.configs[0].name, "qemu-server.conf");
    EXPECT_EQ(h.configs[0].data.size(), 417U);
    EXPECT_TRUE(h.configs[0].data.starts_with("boot: order=scsi0;ide2;net0\n"));
    EXPECT_NE(h.configs[0].data.find("#qmdump#map:scsi0:drive-scsi0:local-lvm:raw:"), std::string::npos);
}

TEST(VmaFixture, VerifyFindsStructureFineButClustersMissing)
{
    test::TempDir dir;
    const std::string src = std::string(PVEDIFF_FIXTURES_DIR) + "/dissect-test.vma.gz";
    ASSERT_EQ(
        test::run("gzip -dc " + test::shell_quote(src) + " > " + test::shell_quote((dir / "f.vma").string())),
        0);
    io::FileSource in((dir / "f.vma").string());
    const auto r = verify_vma(in);
    EXPECT_TRUE(r.header_ok);
    EXPECT_TRUE(r.structure_ok) << problems_of(r);
    EXPECT_FALSE(r.complete);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.extents, 2U);
    EXPECT_EQ(r.blocks, 16U + 112U);
    EXPECT_EQ(r.bytes, 538112U);
    ASSERT_EQ(r.devices.size(), 1U);
    EXPECT_EQ(r.devices[0].clusters_expected, 163840U);
    EXPECT_EQ(r.devices[0].clusters_seen, 116U);
    EXPECT_EQ(r.devices[0].clusters_missing, 163840U - 116U);
    EXPECT_EQ(r.clusters_missing, 163840U - 116U);
    ASSERT_EQ(r.problems.size(), 1U);
    EXPECT_NE(r.problems[0].find("drive-scsi0: 163724 of 163840 clusters missing"), std::string::npos)
        << r.problems[0];
}

TEST(VmaFixture, ExtentBlockCounts)
{
    const auto data = test::fixture_vma();
    EXPECT_EQ((data[12800 + 6] << 8) | data[12800 + 7], 16);
    const std::size_t second = 12800 + 512 + 16 * 4096;
    EXPECT_EQ(std::memcmp(data.data() + second, "VMAE", 4), 0);
    EXPECT_EQ((data[second + 6] << 8) | data[second + 7], 112);
    EXPECT_EQ(second + 512 + 112 * 4096, data.size());
}

// The writer, fed the fixture's clusters in the fixture's order, reproduces the real
// Proxmox archive byte for byte: header layout, blob order, masks, extent split, MD5s.
TEST(VmaWriter, ReproducesFixtureExactly)
{
    const auto data = test::fixture_vma();
    const VmaHeader h = parse_vma_header(std::span(data).first(12800), "f");
    io::MemorySink sink;
    VmaWriter w(sink, h.uuid, h.ctime, {{h.configs[0].name, h.configs[0].data}},
                {{h.devices[0].name, h.devices[0].size}});
    std::size_t at = h.header_size;
    while (at < data.size()) {
        const std::uint8_t* eh = data.data() + at;
        std::size_t block_at = at + 512;
        for (std::size_t slot = 0; slot < 59; ++slot) {
            std::uint64_t info = 0;
            for (int i = 0; i < 8; ++i) {
                info = (info << 8) | eh[40 + slot * 8 + static_cast<std::size_t>(i)];
            }
            if (((info >> 32) & 0xff) == 0) {
                continue;
            }
            std::vector<std::uint8_t> cluster(65536);
            for (unsigned b = 0; b < 16; ++b) {
                if ((info >> (48 + b)) & 1) {
                    std::memcpy(cluster.data() + b * 4096, data.data() + block_at, 4096);
                    block_at += 4096;
                }
            }
            w.add_cluster(static_cast<std::uint8_t>(info >> 32), static_cast<std::uint32_t>(info), cluster);
        }
        at = block_at;
    }
    w.finish();
    EXPECT_EQ(w.header_size(), 12800U);
    EXPECT_EQ(w.extents_written(), 2U);
    EXPECT_EQ(w.bytes_written(), data.size());
    EXPECT_TRUE(sink.data() == data);
}

TEST(VmaWriter, RoundTripOneDevice)
{
    const std::vector<test::SyntheticDevice> devs{{"drive-scsi0", 200 * 65536}};
    const std::vector<std::vector<std::uint8_t>> disks{test::synthetic_disk(devs[0].size, 1)};
    const auto vma = test::write_vma(devs, disks, {}, 1);
    const auto r = verify_bytes(vma);
    EXPECT_TRUE(r.ok) << problems_of(r);
    EXPECT_EQ(r.extents, 4U);  // 200 clusters / 58
    EXPECT_EQ(r.clusters_seen, 200U);
    EXPECT_EQ(r.bytes, vma.size());
    EXPECT_EQ(r.header.configs.at(0).name, "qemu-server.conf");
}

TEST(VmaWriter, RoundTripSeveralDevicesOddSizes)
{
    // Sizes not multiples of 64 KiB (nor of 4 KiB for the last one).
    const std::vector<test::SyntheticDevice> devs{{"drive-scsi0", 100 * 65536 + 12288},
                                                  {"drive-efidisk0", 540672},
                                                  {"drive-tpmstate0-backup", 4 * 65536 + 1536}};
    std::vector<std::vector<std::uint8_t>> disks;
    for (std::size_t i = 0; i < devs.size(); ++i) {
        disks.push_back(test::synthetic_disk(devs[i].size, static_cast<std::uint32_t>(i + 7)));
    }
    const auto vma = test::write_vma(devs, disks, {}, 3);
    const auto r = verify_bytes(vma);
    EXPECT_TRUE(r.ok) << problems_of(r);
    ASSERT_EQ(r.devices.size(), 3U);
    EXPECT_EQ(r.devices[0].clusters_expected, 101U);
    EXPECT_EQ(r.devices[1].clusters_expected, 9U);
    EXPECT_EQ(r.devices[2].clusters_expected, 5U);
    EXPECT_EQ(r.devices[2].name, "drive-tpmstate0-backup");
    EXPECT_EQ(r.clusters_missing, 0U);
}

TEST(VmaWriter, AllZeroDiskStoresNoBlocks)
{
    const std::vector<test::SyntheticDevice> devs{{"drive-scsi0", 70 * 65536}};
    const std::vector<std::vector<std::uint8_t>> disks{std::vector<std::uint8_t>(devs[0].size, 0)};
    const auto vma = test::write_vma(devs, disks, {}, 2);
    const auto r = verify_bytes(vma);
    EXPECT_TRUE(r.ok) << problems_of(r);
    EXPECT_EQ(r.blocks, 0U);
    EXPECT_EQ(vma.size(), 12800U + 2 * 512);
}

TEST(VmaWriter, RejectsBadClusters)
{
    io::MemorySink sink;
    VmaWriter w(sink, {}, 0, {}, {{"drive-scsi0", 65536 + 4096}});
    const std::vector<std::uint8_t> c(65536, 1);
    EXPECT_THROW(w.add_cluster(2, 0, c), io::Error);
    EXPECT_THROW(w.add_cluster(1, 2, c), io::Error);
    EXPECT_THROW(w.add_cluster(1, 1, c), io::Error);  // only 4096 bytes left there
    w.add_cluster(1, 1, std::span(c).first(4096));
    w.add_cluster(1, 0, c);
    w.finish();
    EXPECT_TRUE(verify_bytes(sink.data()).ok);
    EXPECT_THROW(VmaWriter(sink, {}, 0, {}, {{"x", 0}}), io::Error);
    EXPECT_THROW(VmaWriter(sink, {}, 0, {{"c", std::string(70000, 'x')}}, {{"x", 1}}), io::Error);
}

class VmaCorruption : public ::testing::Test {
protected:
    void SetUp() override
    {
        devs_ = {{"drive-scsi0", 130 * 65536}};
        disks_ = {test::synthetic_disk(devs_[0].size, 5)};
        // In order: extent k holds clusters 58k..58k+57.
        std::vector<test::ClusterRef> order;
        for (std::uint32_t c = 0; c < 130; ++c) {
            order.push_back({1, c});
        }
        vma_ = test::write_vma(devs_, disks_, order, 5);
        ASSERT_TRUE(verify_bytes(vma_).ok);
        // Extent offsets.
        for (std::size_t at = 12800; at < vma_.size();) {
            extents_.push_back(at);
            at += 512 + 4096 * ((std::size_t{vma_[at + 6]} << 8) | vma_[at + 7]);
        }
        ASSERT_EQ(extents_.size(), 3U);
    }
    std::vector<test::SyntheticDevice> devs_;
    std::vector<std::vector<std::uint8_t>> disks_;
    std::vector<std::uint8_t> vma_;
    std::vector<std::size_t> extents_;
};

TEST_F(VmaCorruption, FlippedBitInHeader)
{
    for (const std::size_t at : {std::size_t{10}, std::size_t{4096 + 32 + 9}, std::size_t{12288 + 5}}) {
        auto v = vma_;
        v[at] ^= 0x10;
        const auto r = verify_bytes(v);
        EXPECT_FALSE(r.ok);
        EXPECT_FALSE(r.header_ok);
        EXPECT_TRUE(has_problem(r, "offset 32: vma header: md5 mismatch")) << problems_of(r);
        EXPECT_EQ(r.bytes, v.size());
    }
    auto v = vma_;
    v[1] = 'X';
    EXPECT_TRUE(has_problem(verify_bytes(v), "offset 0: vma header: bad magic"));
    v = vma_;
    v[7] = 2;
    EXPECT_TRUE(has_problem(verify_bytes(v), "unsupported version 2"));
}

TEST_F(VmaCorruption, FlippedBitInExtentHeader)
{
    auto v = vma_;
    v[extents_[1] + 40 + 8 * 3 + 7] ^= 1;  // a cluster number
    const auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_TRUE(has_problem(r, "offset " + std::to_string(extents_[1]) + ": extent header md5 mismatch"))
        << problems_of(r);
    EXPECT_EQ(r.bytes, v.size());
}

TEST_F(VmaCorruption, BadUuidAndReserved)
{
    auto v = vma_;
    v[extents_[2] + 9] ^= 1;
    v[extents_[2] + 5] = 1;
    resign_extent(v, extents_[2]);
    const auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_TRUE(r.complete);
    EXPECT_TRUE(has_problem(r, "extent uuid differs")) << problems_of(r);
    EXPECT_TRUE(has_problem(r, "extent reserved field not zero")) << problems_of(r);
}

TEST_F(VmaCorruption, DuplicateCluster)
{
    auto v = vma_;
    // Slot 0 of the third extent claims cluster 5 (already in the first), keeping its
    // mask, so block counts still agree; cluster 116 is then missing.
    put_be64(v.data() + extents_[2] + 40, (std::uint64_t{v[extents_[2] + 40]} << 56) |
                                              (std::uint64_t{v[extents_[2] + 41]} << 48) | (1ULL << 32) | 5);
    resign_extent(v, extents_[2]);
    const auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_FALSE(r.complete);
    EXPECT_TRUE(has_problem(r, "duplicate cluster 5 of device drive-scsi0")) << problems_of(r);
    EXPECT_EQ(r.devices[0].clusters_missing, 1U);
}

TEST_F(VmaCorruption, ClusterPastEnd)
{
    auto v = vma_;
    put_be64(v.data() + extents_[2] + 40, (std::uint64_t{v[extents_[2] + 40]} << 56) |
                                              (std::uint64_t{v[extents_[2] + 41]} << 48) | (1ULL << 32) |
                                              130);
    resign_extent(v, extents_[2]);
    const auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_TRUE(has_problem(r, "cluster 130 past the end of device drive-scsi0")) << problems_of(r);
    v = vma_;
    put_be64(v.data() + extents_[2] + 40, (std::uint64_t{v[extents_[2] + 40]} << 56) |
                                              (std::uint64_t{v[extents_[2] + 41]} << 48) | (7ULL << 32) | 1);
    resign_extent(v, extents_[2]);
    EXPECT_TRUE(has_problem(verify_bytes(v), "of undefined device 7"));
}

TEST_F(VmaCorruption, WrongBlockCount)
{
    auto v = vma_;
    v[extents_[1] + 7] ^= 1;
    resign_extent(v, extents_[1]);
    const auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_TRUE(has_problem(r, "but masks list")) << problems_of(r);
}

TEST_F(VmaCorruption, TruncatedMidExtent)
{
    const auto v = std::vector<std::uint8_t>(
        vma_.begin(), vma_.begin() + static_cast<std::ptrdiff_t>(extents_[2] + 512 + 4096 + 100));
    const auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_TRUE(has_problem(r, "offset " + std::to_string(extents_[2]) + ": truncated extent"))
        << problems_of(r);
    const auto h = std::vector<std::uint8_t>(vma_.begin(),
                                             vma_.begin() + static_cast<std::ptrdiff_t>(extents_[2] + 100));
    EXPECT_TRUE(has_problem(verify_bytes(h), "truncated extent header (100 of 512 bytes)"));
}

TEST_F(VmaCorruption, TruncatedAtExtentBoundaryIsIncomplete)
{
    const auto v =
        std::vector<std::uint8_t>(vma_.begin(), vma_.begin() + static_cast<std::ptrdiff_t>(extents_[2]));
    const auto r = verify_bytes(v);
    EXPECT_TRUE(r.structure_ok) << problems_of(r);  // what `vma verify` would say
    EXPECT_FALSE(r.complete);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.devices[0].clusters_missing, 130U - 116U);
    EXPECT_TRUE(has_problem(r, "drive-scsi0: 14 of 130 clusters missing")) << problems_of(r);
}

TEST_F(VmaCorruption, ProblemListIsCapped)
{
    auto v = vma_;
    for (std::size_t slot = 0; slot < 58; ++slot) {
        put_be64(v.data() + extents_[1] + 40 + slot * 8,
                 (std::uint64_t{v[extents_[1] + 40 + slot * 8]} << 56) |
                     (std::uint64_t{v[extents_[1] + 41 + slot * 8]} << 48) | (1ULL << 32) | slot);
    }
    resign_extent(v, extents_[1]);
    io::MemorySource src(v, "x.vma");
    const auto r = verify_vma(src, VmaVerifyOptions{10});
    EXPECT_EQ(r.problems.size(), 10U);
    EXPECT_EQ(r.problems_omitted, 58U - 10U + 1U);  // 58 duplicates + coverage
}

// Sets device `id`'s size in the header and re-signs it.
void set_device_size(std::vector<std::uint8_t>& data, std::size_t id, std::uint64_t size)
{
    put_be64(data.data() + 4096 + id * 32 + 8, size);
    std::memset(data.data() + 32, 0, 16);
    const Md5 md5 = vma_header_md5(std::span(data).first(12800));
    std::memcpy(data.data() + 32, md5.data(), 16);
}

// The coverage bitmaps are bounded by the header (issue 13): a device the 32-bit
// cluster numbers cannot address is refused at its size field, and its extents are
// not read.
TEST_F(VmaCorruption, DeviceBeyondThirtyTwoBitClustersIsRefused)
{
    auto v = vma_;
    set_device_size(v, 1, ((std::uint64_t{1} << 32) + 1) * 65536);
    const auto r = verify_bytes(v);
    EXPECT_TRUE(r.header_ok) << problems_of(r);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_FALSE(r.complete);
    EXPECT_EQ(r.extents, 0U);
    EXPECT_EQ(r.bytes, v.size());
    // Nothing was seen: the counts still add up (the fuzz target's invariants).
    EXPECT_EQ(r.devices[0].clusters_missing, r.devices[0].clusters_expected);
    EXPECT_EQ(r.clusters_missing, r.clusters_expected);
    EXPECT_TRUE(has_problem(r,
                            "offset 4136: vma header: device drive-scsi0 of 281474976776192 bytes is larger "
                            "than 32-bit cluster numbers address (281474976710656 bytes)"))
        << problems_of(r);
}

// The largest device the format addresses (2^32 clusters, 256 TiB) would need 512 MiB
// of bitmap: beyond the default cap of 128 MiB (64 TiB of disks per archive).
TEST_F(VmaCorruption, DevicesBeyondTheCoverageCapAreRefused)
{
    auto v = vma_;
    set_device_size(v, 1, (std::uint64_t{1} << 32) * 65536);
    auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_FALSE(r.complete);
    EXPECT_EQ(r.extents, 0U);
    EXPECT_TRUE(has_problem(r,
                            "offset 4136: vma header: devices add up to 281474976710656 bytes at device "
                            "drive-scsi0, more than the 70368744177664 bytes whose coverage verify checks"))
        << problems_of(r);
    // At the cap exactly: accepted, and a cluster near its end costs one page.
    set_device_size(v, 1, (std::uint64_t{1} << 30) * 65536);
    r = verify_bytes(v);
    EXPECT_TRUE(r.structure_ok) << problems_of(r);
    EXPECT_EQ(r.extents, 3U);
    // A small cap counts every device: two of 130 clusters do not fit in 32 bytes (256).
    const std::vector<test::SyntheticDevice> two = {{"drive-scsi0", 130 * 65536},
                                                    {"drive-scsi1", 130 * 65536}};
    const auto disk = test::synthetic_disk(130 * 65536, 6);
    const auto w = test::write_vma(two, {disk, disk}, {}, 6);
    io::MemorySource src(w, "x.vma");
    r = verify_vma(src, VmaVerifyOptions{.max_problems = 10, .max_coverage_bytes = 32});
    EXPECT_FALSE(r.structure_ok);
    EXPECT_EQ(r.extents, 0U);
    EXPECT_TRUE(
        has_problem(r,
                    "offset 4168: vma header: devices add up to 17039360 bytes at device drive-scsi1, "
                    "more than the 16777216 bytes"))
        << problems_of(r);
    io::MemorySource fits(w, "x.vma");
    EXPECT_TRUE(verify_vma(fits, VmaVerifyOptions{.max_problems = 10, .max_coverage_bytes = 33}).ok);
}

// Far clusters of a large device: one past its end is refused at its slot's offset; the
// last one is recorded (and only one page is allocated for it).
TEST_F(VmaCorruption, FarClustersOfALargeDevice)
{
    auto v = vma_;
    const std::uint64_t clusters = std::uint64_t{1} << 30;
    set_device_size(v, 1, clusters * 65536);
    const std::size_t slot0 = extents_[2] + 40;
    const auto mask = [&](std::size_t at) {
        return (std::uint64_t{v[at]} << 56) | (std::uint64_t{v[at + 1]} << 48);
    };
    put_be64(v.data() + slot0, mask(slot0) | (1ULL << 32) | (clusters - 1));
    put_be64(v.data() + slot0 + 8, mask(slot0 + 8) | (1ULL << 32) | clusters);
    resign_extent(v, extents_[2]);
    const auto r = verify_bytes(v);
    EXPECT_FALSE(r.structure_ok);
    EXPECT_TRUE(has_problem(
        r, fmt::format("offset {}: cluster {} past the end of device drive-scsi0", slot0 + 8, clusters)))
        << problems_of(r);
    EXPECT_FALSE(has_problem(r, std::to_string(clusters - 1))) << problems_of(r);
    EXPECT_EQ(r.devices[0].clusters_seen, 130U - 2U + 1U);
}

// Cut at every length (every byte up to the first extents, coarser beyond): the
// verifier reports problems or succeeds, never crashes or throws.
TEST(VmaVerify, EveryTruncationOfTheFixture)
{
    const auto data = test::fixture_vma();
    std::vector<std::size_t> cuts;
    for (std::size_t n = 0; n <= 14000; ++n) {
        cuts.push_back(n);
    }
    for (std::size_t n = 14000; n < data.size(); n += 997) {
        cuts.push_back(n);
    }
    cuts.push_back(data.size());
    for (const std::size_t n : cuts) {
        const auto r = verify_bytes(
            std::vector<std::uint8_t>(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n)));
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.bytes, n);
        EXPECT_FALSE(r.problems.empty());
        const bool boundary = n == 12800 || n == 12800 + 512 + 16 * 4096 || n == data.size();
        if (!boundary) {
            ASSERT_FALSE(r.structure_ok) << n;
        } else {
            ASSERT_TRUE(r.structure_ok) << n << problems_of(r);
        }
    }
}

}  // namespace
}  // namespace pvediff::formats
