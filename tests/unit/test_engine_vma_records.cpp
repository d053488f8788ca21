// SPDX-License-Identifier: GPL-2.0-or-later
// The differential of a VMA written from the full's cluster records (VmaRecordsEncoder),
// with records built in memory from a generated full: decoded by the project's decoder
// and by stock xdelta3 to exactly the VMA the writer makes of the new disk, its proof
// checks, its size and item digest are the new VMA's, a changed cluster given with the
// full's own bytes is a COPY after all, and clean clusters are never given.
#include <gtest/gtest.h>
#include <zlib.h>

#include <set>

#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vma_records_encoder.h"
#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/formats/vma_item_digest.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "test_engine_delta_helpers.h"
#include "test_util.h"
#include "vcdiff_reader.h"

namespace pvediff::engine {
// Not anonymous: the test binary is compiled in unity batches, where another file
// defines fixtures of the same names.
namespace test_engine_vma_records {

namespace vma = formats::vma;

constexpr std::uint64_t disk_size = 130 * vma::cluster_size + 8192;  // three extents, a partial cluster
constexpr std::uint32_t clusters = 131;
const std::vector<formats::VmaWriter::Config> configs{{"qemu-server.conf", "memory: 512\n"}};
constexpr std::int64_t new_ctime = 1790086400;

std::vector<std::uint8_t> make_disk()
{
    auto disk = test::make_data(disk_size, 7);
    for (std::uint32_t c : {2U, 7U, 20U, 70U}) {
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

formats::Uuid uuid_of(std::uint8_t b)
{
    formats::Uuid uuid{};
    uuid.fill(b);
    return uuid;
}

std::vector<std::uint8_t> write_vma(const std::vector<std::uint8_t>& disk, std::uint8_t uuid_byte,
                                    std::int64_t ctime)
{
    io::MemorySink sink;
    formats::VmaWriter writer(sink, uuid_of(uuid_byte), ctime, configs, {{"drive-scsi0", disk_size}});
    for (std::uint32_t c = 0; c < clusters; ++c) {
        writer.add_cluster(1, c, cluster_of(disk, c));
    }
    writer.finish();
    return sink.data();
}

// The full's records as the framed writer records them (frames aside), and each
// cluster's stored blocks.
struct FullRecords {
    std::vector<std::uint8_t> vma_header;
    std::vector<formats::ExtentRecord> extents;
    std::vector<std::vector<std::uint8_t>> stored;  // per cluster
};

FullRecords records_of(const std::vector<std::uint8_t>& full)
{
    FullRecords out;
    io::MemorySource source(full, "<full>");
    formats::VmaClusterReader reader(source);
    while (const auto c = reader.next()) {
        if (out.extents.empty()) {
            out.vma_header.assign(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(c->extent_offset));
        }
        if (c->first_in_extent) {
            formats::ExtentRecord e;
            e.offset = c->extent_offset;
            std::copy(c->extent_header.begin(), c->extent_header.end(), e.header.begin());
            out.extents.push_back(e);
        }
        formats::ClusterRecord r;
        r.dev_id = c->dev_id;
        r.cluster = c->cluster;
        r.mask = c->mask;
        r.adler32 = static_cast<std::uint32_t>(adler32_z(1, c->stored.data(), c->stored.size()));
        io::Sha256 sha;
        sha.update(c->stored);
        r.sha256 = sha.finish();
        r.stored_offset = c->stored_offset;
        out.extents.back().clusters.push_back(r);
        out.stored.emplace_back(c->stored.begin(), c->stored.end());
    }
    return out;
}

struct Encoded {
    std::vector<std::uint8_t> delta;
    std::set<std::uint32_t> changed;
    VmaRecordsStats stats;
    std::uint64_t size = 0;
    io::Digest digest{};
    std::uint64_t windows = 0;
    std::uint64_t literal_bytes = 0;
};

// `given`: the clusters handed over with their new bytes (dirty); all others are clean.
Encoded encode(const FullRecords& full, const std::vector<std::uint8_t>& disk,
               const std::set<std::uint32_t>& given, CopyProof& proof, VcdiffWriterOptions options = {})
{
    Encoded e;
    io::MemorySink delta;
    VcdiffWriter vcdiff(delta, options);
    VmaRecordsEncoder encoder(vcdiff, proof, uuid_of(0x22), "<new>", [&](const formats::ClusterRecord& r) {
        EXPECT_EQ(r.dev_id, 1);
        e.changed.insert(r.cluster);
    });
    encoder.header(formats::vma_header_bytes(uuid_of(0x22), new_ctime, configs, {{"drive-scsi0", disk_size}}),
                   full.vma_header);
    for (const auto& extent : full.extents) {
        std::vector<std::optional<NewClusterVersion>> versions(extent.clusters.size());
        for (std::size_t i = 0; i < versions.size(); ++i) {
            const std::uint32_t c = extent.clusters[i].cluster;
            if (given.contains(c)) {
                NewClusterVersion v;
                v.mask = formats::vma_cluster_blocks(cluster_of(disk, c), v.stored);
                v.full_stored = full.stored[c];
                versions[i] = std::move(v);
            }
        }
        encoder.extent(extent, versions);
    }
    encoder.finish();
    vcdiff.finish();
    proof.finish();
    e.delta = delta.data();
    e.stats = encoder.stats();
    e.size = encoder.content_size();
    e.digest = encoder.finish_digest();
    e.windows = vcdiff.stats().windows;
    e.literal_bytes = vcdiff.stats().literal_bytes;
    return e;
}

// An unchanged guest: the full and the new VMA of one disk differ in the uuid, the
// time and the MD5s; with the full's records and a proof for one encoding.
struct UnchangedGuest {
    test::TempDir dir;
    std::vector<std::uint8_t> disk = make_disk();
    std::vector<std::uint8_t> full = write_vma(disk, 0x11, 1790000000);
    std::vector<std::uint8_t> target = write_vma(disk, 0x22, new_ctime);
    FullRecords records = records_of(full);
    CopyProof proof{dir.path(), ProofKey::random()};
};

// Decoded by the project's decoder and by stock xdelta3 to `target`, and its proof
// checks; what the proof check counted.
ProofCheckResult expect_rebuilds(const test::TempDir& dir, const std::vector<std::uint8_t>& full,
                                 const std::vector<std::uint8_t>& target, const Encoded& e, CopyProof& proof)
{
    EXPECT_EQ(test_delta::decode_bytes(full, e.delta), target);
    EXPECT_EQ(test_delta::stock_decode(dir, full, e.delta), target);
    io::MemorySource delta_source(e.delta, "<delta>");
    const ProofCheckResult checked = check_proof(proof, delta_source, target.size());
    EXPECT_EQ(checked.target_bytes, target.size());
    return checked;
}

TEST(VmaRecordsEncoder, RebuildsTheNewVmaWithoutTheCleanClustersBytes)
{
    const test::TempDir dir;
    const auto old_disk = make_disk();
    const auto full = write_vma(old_disk, 0x11, 1790000000);
    const FullRecords records = records_of(full);
    ASSERT_EQ(records.extents.size(), 3U);
    auto disk = old_disk;
    disk[3 * vma::cluster_size + 5 * vma::block_size + 100] ^= 0xff;                        // one byte
    std::fill_n(disk.begin() + 5 * vma::cluster_size, vma::cluster_size, std::uint8_t{0});  // now zeros
    const auto fresh = test::make_data(vma::cluster_size, 99);
    std::copy(fresh.begin(), fresh.end(), disk.begin() + 70 * vma::cluster_size);  // was zeros
    disk[disk_size - 10] ^= 0x01;                                                  // the partial cluster
    const auto target = write_vma(disk, 0x22, new_ctime);

    CopyProof proof(dir.path(), ProofKey::random());
    // 9 and 100 given (dirty) but unchanged: COPYs after all.
    const Encoded e = encode(records, disk, {3, 5, 9, 70, 100, 130}, proof);
    EXPECT_EQ(e.changed, (std::set<std::uint32_t>{3, 5, 70, 130}));
    EXPECT_EQ(e.stats.clusters, clusters);
    EXPECT_EQ(e.stats.copied_clusters, clusters - 4);
    EXPECT_EQ(e.stats.extents, 3U);
    EXPECT_LE(e.stats.copy_runs, 10U);

    EXPECT_EQ(e.size, target.size());
    formats::VmaItemHashingSink items("<target>");
    items.write(target);
    items.finish();
    EXPECT_EQ(e.digest, items.digest());

    EXPECT_LT(expect_rebuilds(dir, full, target, e, proof).literal_bytes, 3 * vma::cluster_size / 2);
}

TEST(VmaRecordsEncoder, TheVmaHeaderIsCopiedFromTheFullsWhereItIsTheSame)
{
    // Uuid, time and MD5s are all that is new (not the config).
    UnchangedGuest g;
    ASSERT_GT(g.records.vma_header.size(), 4096U);
    const Encoded e = encode(g.records, g.disk, {}, g.proof);
    EXPECT_LT(expect_rebuilds(g.dir, g.full, g.target, e, g.proof).literal_bytes, 1024U);
}

TEST(VmaRecordsEncoder, CleanRunsLongerThanAWindowFillEachWindow)
{
    // A run of clean clusters longer than a window is cut where the open window is
    // full: every window but the last holds all but at most one cluster of its size,
    // as many windows as the whole-disk encoder would write, give or take.
    UnchangedGuest g;
    VcdiffWriterOptions options;
    options.window_size = std::uint64_t{1} << 20;
    const Encoded e = encode(g.records, g.disk, {}, g.proof, options);
    EXPECT_LE(e.windows, g.target.size() / (options.window_size - vma::cluster_size) + 1);
    expect_rebuilds(g.dir, g.full, g.target, e, g.proof);
}

TEST(VmaRecordsEncoder, ACleanRunThatFitsAWindowIsNotSplit)
{
    // An extent's run of clean clusters (59 clusters, 3.7 MiB) fits a 4 MiB window but
    // two do not: each run goes whole into the window that opens with it, so every
    // clean window of a guest has the same shape and zstd finds its instructions and
    // addresses again a window later (13 KB off the 32 GiB guest's differential, where
    // cutting runs to fill each window made it 6 KB larger than the whole-disk read's).
    UnchangedGuest g;
    VcdiffWriterOptions options;
    options.window_size = std::uint64_t{4} << 20;
    const Encoded e = encode(g.records, g.disk, {}, g.proof, options);
    ASSERT_EQ(g.records.extents.size(), 3U);
    expect_rebuilds(g.dir, g.full, g.target, e, g.proof);

    std::vector<std::uint64_t> lengths;
    io::MemorySource delta(e.delta, "<delta>");
    vcdiff::StreamReader in(delta);
    auto refuse = [](const std::string& what) -> void { throw io::Error(what); };
    vcdiff::read_plain_header(in, refuse);
    vcdiff::PlainWindow w;
    while (vcdiff::read_plain_window(in, lengths.size(), w, refuse)) {
        lengths.push_back(w.target_len);
    }
    // The second window: the second extent's clusters and the third extent's header;
    // the third: the third extent's clusters. Filled windows: 4 MiB, 4 MiB, the rest.
    auto stored = [&](const formats::ExtentRecord& extent) {
        std::uint64_t n = 0;
        for (const auto& c : extent.clusters) {
            n += c.stored_size();
        }
        return n;
    };
    ASSERT_EQ(lengths.size(), 3U);
    EXPECT_EQ(lengths[1], stored(g.records.extents[1]) + g.records.extents[2].header.size());
    EXPECT_EQ(lengths[2], stored(g.records.extents[2]));
}

TEST(VmaRecordsEncoder, AnExtentHeaderCostsOnlyItsNewUuidAndMd5)
{
    // Of each extent header only the uuid and the MD5 (32 bytes) are literals, as in
    // the whole-disk encoder's differential; its first 8 bytes (magic, reserved, block
    // count) too short for FineMatcher, are copied with the cluster before them.
    UnchangedGuest g;
    std::uint64_t vma_header_literals = 0;
    {
        io::MemorySink delta;
        VcdiffWriter vcdiff(delta);
        CopyProof proof(g.dir.path(), ProofKey::random());
        VmaRecordsEncoder encoder(vcdiff, proof, uuid_of(0x22), "<new>",
                                  [](const formats::ClusterRecord&) {});
        encoder.header(
            formats::vma_header_bytes(uuid_of(0x22), new_ctime, configs, {{"drive-scsi0", disk_size}}),
            g.records.vma_header);
        encoder.finish();
        vma_header_literals = vcdiff.stats().literal_bytes;
    }
    const Encoded e = encode(g.records, g.disk, {}, g.proof);
    EXPECT_EQ(e.literal_bytes - vma_header_literals, 32 * g.records.extents.size());
    expect_rebuilds(g.dir, g.full, g.target, e, g.proof);
}

TEST(VmaRecordsEncoder, WrongRecordsGiveAnotherContentNotACrash)
{
    // What the proof trusts is the records: a clean cluster whose record lies about its
    // Adler-32 makes a differential whose window checksums fail to decode.
    UnchangedGuest g;
    g.records.extents[1].clusters[3].adler32 ^= 1;
    const Encoded e = encode(g.records, g.disk, {}, g.proof);
    EXPECT_TRUE(e.changed.empty());
    EXPECT_THROW(test_delta::decode_bytes(g.full, e.delta), io::Error);
}

TEST(VmaRecordsEncoder, ACorruptedDifferentialFailsItsProof)
{
    UnchangedGuest g;
    Encoded e = encode(g.records, g.disk, {}, g.proof);
    e.delta[e.delta.size() / 2] ^= 0x40;
    io::MemorySource delta_source(e.delta, "<delta>");
    EXPECT_THROW(check_proof(g.proof, delta_source, g.target.size()), io::Error);
}

}  // namespace test_engine_vma_records
}  // namespace pvediff::engine
