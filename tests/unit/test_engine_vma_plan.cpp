// SPDX-License-Identifier: GPL-2.0-or-later
// The differential of a generated VMA written from its cluster plan (VmaPlanEncoder):
// decoded by the project's decoder and by stock xdelta3 to exactly the new VMA, its
// proof checks, unchanged clusters are COPYs and only the changed ones are reported.
#include <gtest/gtest.h>

#include <set>

#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vma_plan_encoder.h"
#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/error.h"
#include "test_engine_delta_helpers.h"
#include "test_util.h"

namespace pvediff::engine {
// Not anonymous: the test binary is compiled in unity batches, where another file
// defines fixtures of the same names.
namespace test_engine_vma_plan {

namespace vma = formats::vma;

constexpr std::uint64_t disk_size = 40 * vma::cluster_size + 8192;  // a partial last cluster
constexpr std::uint32_t clusters = 41;

std::vector<std::uint8_t> make_disk()
{
    auto disk = test::make_data(disk_size, 7);
    // Zero clusters and zero blocks, as on a real disk.
    for (std::uint32_t c : {2U, 7U, 20U}) {
        std::fill_n(disk.begin() + c * vma::cluster_size, vma::cluster_size, std::uint8_t{0});
    }
    std::fill_n(disk.begin() + 4 * vma::cluster_size + 3 * vma::block_size, 2 * vma::block_size,
                std::uint8_t{0});
    return disk;
}

std::span<const std::uint8_t> cluster_of(const std::vector<std::uint8_t>& disk, std::uint32_t c)
{
    const std::size_t start = std::size_t{c} * vma::cluster_size;
    return std::span(disk).subspan(start, std::min<std::size_t>(vma::cluster_size, disk.size() - start));
}

std::vector<std::uint8_t> write_vma(const std::vector<std::uint8_t>& disk, std::uint8_t uuid_byte)
{
    io::MemorySink sink;
    formats::Uuid uuid{};
    uuid.fill(uuid_byte);
    formats::VmaWriter writer(sink, uuid, 1790000000, {{"qemu-server.conf", "memory: 512\n"}},
                              {{"drive-scsi0", disk_size}});
    for (std::uint32_t c = 0; c < clusters; ++c) {
        writer.add_cluster(1, c, cluster_of(disk, c));
    }
    writer.finish();
    return sink.data();
}

struct Encoded {
    std::vector<std::uint8_t> target;
    std::vector<std::uint8_t> delta;
    std::set<std::uint32_t> changed;
    VmaPlanStats stats;
    std::uint32_t header_size = 0;  // the VMA header's (literal)
};

Encoded encode(const std::vector<std::uint8_t>& full, const std::vector<std::uint8_t>& disk, CopyProof& proof)
{
    Encoded e;
    io::MemorySource full_source(full, "<full>");
    formats::VmaClusterReader reader(full_source);
    io::MemorySink delta;
    VcdiffWriter vcdiff(delta);
    VmaPlanEncoder encoder(vcdiff, proof, "<new>", [&](std::uint8_t dev, std::uint32_t c) {
        EXPECT_EQ(dev, 1);
        e.changed.insert(c);
    });
    // The new stream also goes to a memory sink, to compare with.
    struct Tee final : io::ByteSink {
        io::ByteSink& a;
        io::MemorySink& b;
        Tee(io::ByteSink& x, io::MemorySink& y) : a(x), b(y) {}
        void write(std::span<const std::uint8_t> d) override
        {
            b.write(d);
            a.write(d);
        }
        void finish() override {}
        [[nodiscard]] const std::string& name() const override { return b.name(); }
    };
    io::MemorySink target;
    Tee tee(encoder, target);
    formats::Uuid uuid{};
    uuid.fill(0x22);
    formats::VmaWriter writer(tee, uuid, 1790086400, {{"qemu-server.conf", "memory: 512\n"}},
                              {{"drive-scsi0", disk_size}});
    for (std::uint32_t c = 0; c < clusters; ++c) {
        const auto f = reader.next();
        EXPECT_TRUE(f && f->cluster == c);
        PlannedCluster planned;
        planned.dev_id = 1;
        planned.cluster = c;
        planned.in_full = true;
        planned.full_offset = f->stored_offset;
        planned.full_stored.assign(f->stored.begin(), f->stored.end());
        if (f->first_in_extent) {
            planned.full_extent_header.assign(f->extent_header.begin(), f->extent_header.end());
            planned.full_extent_offset = f->extent_offset;
        }
        encoder.expect(std::move(planned));
        writer.add_cluster(1, c, cluster_of(disk, c));
    }
    writer.finish();
    encoder.finish();
    vcdiff.finish();
    proof.finish();
    e.target = target.data();
    e.delta = delta.data();
    e.stats = encoder.stats();
    e.header_size = writer.header_size();
    return e;
}

TEST(VmaPlanEncoder, RebuildsTheNewVmaFromCopiesOfUnchangedClusters)
{
    const test::TempDir dir;
    const auto old_disk = make_disk();
    const auto full = write_vma(old_disk, 0x11);
    auto disk = old_disk;
    disk[3 * vma::cluster_size + 5 * vma::block_size + 100] ^= 0xff;                        // one byte
    std::fill_n(disk.begin() + 5 * vma::cluster_size, vma::cluster_size, std::uint8_t{0});  // now zeros
    const auto fresh = test::make_data(vma::cluster_size, 99);
    std::copy(fresh.begin(), fresh.end(), disk.begin() + 7 * vma::cluster_size);  // was zeros
    disk[disk_size - 10] ^= 0x01;                                                 // the partial cluster

    CopyProof proof(dir.path(), ProofKey::random());
    const Encoded e = encode(full, disk, proof);
    EXPECT_EQ(e.changed, (std::set<std::uint32_t>{3, 5, 7, 40}));
    EXPECT_EQ(e.stats.clusters, clusters);
    EXPECT_EQ(e.stats.copied_clusters, clusters - 4);
    // Unchanged neighbours in one extent are one COPY.
    EXPECT_LE(e.stats.copy_runs, 6U);

    EXPECT_EQ(test_delta::decode_bytes(full, e.delta), e.target);
    EXPECT_EQ(test_delta::stock_decode(dir, full, e.delta), e.target);
    io::MemorySource delta_source(e.delta, "<delta>");
    const ProofCheckResult checked = check_proof(proof, delta_source, e.target.size());
    EXPECT_EQ(checked.target_bytes, e.target.size());
    // What is not copied: the headers, the new cluster, a few bytes around the changed ones.
    EXPECT_LT(checked.literal_bytes, 3 * vma::cluster_size / 2);
    // The extent headers' cluster lists are copied from the full's: of each 512-byte
    // header only the uuid, the MD5 and the changed masks are literals.
    EXPECT_LT(checked.literal_bytes - vma::cluster_size - e.header_size, 1000U);
}

TEST(VmaPlanEncoder, ACorruptedDifferentialFailsItsProof)
{
    const test::TempDir dir;
    const auto disk = make_disk();
    const auto full = write_vma(disk, 0x11);
    CopyProof proof(dir.path(), ProofKey::random());
    Encoded e = encode(full, disk, proof);
    EXPECT_TRUE(e.changed.empty());
    e.delta[e.delta.size() / 2] ^= 0x40;  // inside the literal headers' data or an instruction
    io::MemorySource delta_source(e.delta, "<delta>");
    EXPECT_THROW(check_proof(proof, delta_source, e.target.size()), io::Error);
}

TEST(VmaPlanEncoder, AClusterNotAnnouncedIsRefused)
{
    const test::TempDir dir;
    CopyProof proof(dir.path(), ProofKey::random());
    io::MemorySink delta;
    VcdiffWriter vcdiff(delta);
    VmaPlanEncoder encoder(vcdiff, proof, "<new>", [](std::uint8_t, std::uint32_t) {});
    formats::Uuid uuid{};
    formats::VmaWriter writer(encoder, uuid, 0, {}, {{"drive-scsi0", disk_size}});
    PlannedCluster other;
    other.dev_id = 1;
    other.cluster = 1;
    encoder.expect(other);  // cluster 1 announced, cluster 0 written
    writer.add_cluster(1, 0, test::make_data(4096, 1));
    EXPECT_THROW(writer.finish(), io::Error);
}

}  // namespace test_engine_vma_plan
}  // namespace pvediff::engine
