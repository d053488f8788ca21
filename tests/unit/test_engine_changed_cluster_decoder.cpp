// SPDX-License-Identifier: GPL-2.0-or-later
// engine::ChangedClusterDecoder: the changed clusters of a plan-written
// differential, decoded from the differential, its changed records and random
// access to the framed full's extents that hold them (and no other); a
// differential that copies from elsewhere, a damaged one, or records that do
// not match it, are refused or fail.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "pvediff/engine/changed_cluster_decoder.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/in_step_decoder.h"
#include "pvediff/engine/vma_plan_encoder.h"
#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/sha256.h"
#include "test_engine_delta_helpers.h"
#include "test_util.h"

namespace pvediff::engine {
// Not anonymous: the test binary is compiled in unity batches, where another file
// defines fixtures of the same names.
namespace test_engine_changed_cluster_decoder {

namespace vma = formats::vma;

using Key = std::tuple<std::uint8_t, std::uint32_t>;  // dev_id, cluster

// Device 1: 100 clusters (the last partial); device 2: 100 clusters. Extents of
// 58: 0 = dev 1 0..57, 1 = dev 1 58..99 and dev 2 0..15, 2 = dev 2 16..73, 3 =
// dev 2 74..99.
constexpr std::uint32_t clusters = 100;
constexpr std::uint64_t size1 = (clusters - 1) * vma::cluster_size + 8192;
constexpr std::uint64_t size2 = clusters * vma::cluster_size;

struct Disks {
    std::vector<std::uint8_t> d1 = test::make_data(size1, 3);
    std::vector<std::uint8_t> d2 = test::make_data(size2, 4);
};

Disks make_full_disks()
{
    Disks d;
    // Zero clusters and blocks, as on a real disk.
    for (std::uint32_t c : {7U, 20U}) {
        std::fill_n(d.d1.begin() + std::ptrdiff_t{c} * std::ptrdiff_t{vma::cluster_size}, vma::cluster_size,
                    std::uint8_t{0});
    }
    std::fill_n(d.d2.begin() + 40 * vma::cluster_size + 4 * vma::block_size, 3 * vma::block_size,
                std::uint8_t{0});
    return d;
}

std::span<const std::uint8_t> cluster_of(const std::vector<std::uint8_t>& disk, std::uint32_t c)
{
    const std::size_t start = std::size_t{c} * vma::cluster_size;
    return std::span(disk).subspan(start, std::min<std::size_t>(vma::cluster_size, disk.size() - start));
}

void write_clusters(formats::VmaWriter& writer, const Disks& d)
{
    for (std::uint32_t c = 0; c < clusters; ++c) {
        writer.add_cluster(1, c, cluster_of(d.d1, c));
    }
    for (std::uint32_t c = 0; c < clusters; ++c) {
        writer.add_cluster(2, c, cluster_of(d.d2, c));
    }
}

std::vector<std::uint8_t> write_vma(const Disks& d, std::uint8_t uuid_byte, const std::string& config)
{
    io::MemorySink sink;
    formats::Uuid uuid{};
    uuid.fill(uuid_byte);
    formats::VmaWriter writer(sink, uuid, 1790000000, {{"qemu-server.conf", config}},
                              {{"drive-scsi0", size1}, {"drive-scsi1", size2}});
    write_clusters(writer, d);
    writer.finish();
    return sink.data();
}

std::uint16_t mask_of(std::span<const std::uint8_t> data)
{
    std::uint16_t mask = 0;
    for (std::size_t b = 0; b * vma::block_size < data.size(); ++b) {
        const auto block =
            data.subspan(b * vma::block_size, std::min(vma::block_size, data.size() - b * vma::block_size));
        if (std::any_of(block.begin(), block.end(), [](std::uint8_t x) { return x != 0; })) {
            mask = static_cast<std::uint16_t>(mask | (1U << b));
        }
    }
    return mask;
}

// The framed full: its file and records, written by VmaFramedWriter from the
// VMA.
struct FramedFull {
    std::filesystem::path file;
    std::filesystem::path records;
};

FramedFull write_framed(const test::TempDir& dir, const std::vector<std::uint8_t>& vma)
{
    FramedFull f{dir / "full.vma.zst", dir / "full.vma.zst.pvediff-vma-clusters"};
    const io::Fd file = io::open_fd(f.file.string(), O_WRONLY | O_CREAT | O_TRUNC);
    const io::Fd records = io::open_fd(f.records.string(), O_WRONLY | O_CREAT | O_TRUNC);
    io::FdSink file_sink(file.get(), f.file.string());
    io::FdSink records_sink(records.get(), f.records.string());
    formats::VmaFramedWriter framed(file_sink, records_sink, "full", io::CompressOptions{});
    // In pieces that do not follow the extents, as a stream comes.
    for (std::size_t at = 0; at < vma.size(); at += 100000) {
        framed.write(std::span(vma).subspan(at, std::min<std::size_t>(100000, vma.size() - at)));
    }
    framed.finish();
    return f;
}

// The previous VMA's differential against the full, written as the plan path
// does, and its changed clusters.
struct Previous {
    std::vector<std::uint8_t> vma;
    std::vector<std::uint8_t> delta;
    std::set<Key> changed;
};

Previous encode(const test::TempDir& dir, const std::vector<std::uint8_t>& full, const Disks& disks,
                const VcdiffWriterOptions& options)
{
    Previous p;
    CopyProof proof(dir.path(), ProofKey::random());
    io::MemorySource full_source(full, "<full>");
    formats::VmaClusterReader reader(full_source);
    io::MemorySink delta;
    VcdiffWriter vcdiff(delta, options);
    VmaPlanEncoder encoder(vcdiff, proof, "<previous>", [&](std::uint8_t dev, std::uint32_t c) {
        p.changed.insert({dev, c});
    });
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
    // A longer guest config than the full's: the header sizes may differ.
    formats::VmaWriter writer(tee, uuid, 1790086400,
                              {{"qemu-server.conf", "memory: 1024\n" + std::string(5000, '#') + "\n"}},
                              {{"drive-scsi0", size1}, {"drive-scsi1", size2}});
    const auto add = [&](std::uint8_t dev, const std::vector<std::uint8_t>& disk) {
        for (std::uint32_t c = 0; c < clusters; ++c) {
            const auto f = reader.next();
            EXPECT_TRUE(f && f->dev_id == dev && f->cluster == c);
            PlannedCluster planned;
            planned.dev_id = dev;
            planned.cluster = c;
            planned.in_full = true;
            planned.full_offset = f->stored_offset;
            planned.full_stored.assign(f->stored.begin(), f->stored.end());
            if (f->first_in_extent) {
                planned.full_extent_header.assign(f->extent_header.begin(), f->extent_header.end());
                planned.full_extent_offset = f->extent_offset;
            }
            encoder.expect(std::move(planned));
            writer.add_cluster(dev, c, cluster_of(disk, c));
        }
    };
    add(1, disks.d1);
    add(2, disks.d2);
    writer.finish();
    encoder.finish();
    vcdiff.finish();
    proof.finish();
    p.vma = target.data();
    p.delta = delta.data();
    return p;
}

// Each changed cluster's stored blocks in the previous VMA, in order.
std::map<Key, std::vector<std::uint8_t>> stored_clusters(const std::vector<std::uint8_t>& vma,
                                                         const std::set<Key>& which)
{
    std::map<Key, std::vector<std::uint8_t>> out;
    io::MemorySource source(vma, "<previous>");
    formats::VmaClusterReader reader(source);
    while (const auto c = reader.next()) {
        if (which.count({c->dev_id, c->cluster}) != 0) {
            out[{c->dev_id, c->cluster}].assign(c->stored.begin(), c->stored.end());
        }
    }
    return out;
}

formats::ClusterRecord record_of(const Key& k, std::span<const std::uint8_t> stored, std::uint16_t mask)
{
    formats::ClusterRecord r;
    r.dev_id = std::get<0>(k);
    r.cluster = std::get<1>(k);
    r.mask = mask;
    r.adler32 = static_cast<std::uint32_t>(adler32_z(1, stored.data(), stored.size()));
    r.sha256 = test::sha256_of(stored);
    return r;
}

// The changed records as the plan path writes them: each changed cluster's
// mask, Adler-32 and SHA-256 in the previous VMA. `edit` may change a record.
template <typename Edit>
std::filesystem::path write_changed(const test::TempDir& dir, const Previous& p,
                                    const std::map<Key, std::vector<std::uint8_t>>& stored,
                                    const Disks& prev_disks, const Edit& edit)
{
    const auto path = dir / "previous.vcdiff.zst.pvediff-vma-clusters";
    formats::ChangedRecordsWriter writer(path, io::FileMode{});
    for (const auto& [k, blocks] : stored) {
        const auto& disk = std::get<0>(k) == 1 ? prev_disks.d1 : prev_disks.d2;
        formats::ClusterRecord r = record_of(k, blocks, mask_of(cluster_of(disk, std::get<1>(k))));
        edit(r);
        writer.add(r);
    }
    writer.commit(formats::RecordsTrailer{p.vma.size(), test::sha256_of(p.vma)});
    return path;
}

struct Decoded {
    std::vector<DecodedCluster> clusters;
    std::uint64_t frames_read = 0;
};

Decoded decode(const FramedFull& full, const std::filesystem::path& changed_path,
               const std::vector<std::uint8_t>& delta)
{
    Decoded d;
    formats::FullRecordsReader full_records(full.records);
    io::ZstdFrameReader frames(io::open_fd(full.file.string(), O_RDONLY), full.file.string());
    formats::ChangedRecordsReader changed(changed_path);
    io::MemorySource vcdiff(delta, "previous.vcdiff");
    ChangedClusterDecoder decoder(vcdiff, full_records, frames, changed, "previous.vcdiff");
    while (auto c = decoder.next()) {
        d.clusters.push_back(std::move(*c));
    }
    EXPECT_FALSE(decoder.next());
    d.frames_read = frames.frames_read();
    return d;
}

// The full and the previous backup of the tests: clusters changed in part, to
// zeros, to new data, beside clean ones in the same extent, on both devices;
// extent 2 clean.
struct Fixture {
    test::TempDir dir;
    Disks full_disks = make_full_disks();
    Disks prev_disks = full_disks;
    std::vector<std::uint8_t> full = write_vma(full_disks, 0x11, "memory: 512\n");
    FramedFull framed = write_framed(dir, full);

    Fixture()
    {
        auto& d1 = prev_disks.d1;
        auto& d2 = prev_disks.d2;
        d1[3 * vma::cluster_size + 5 * vma::block_size + 100] ^= 0xff;                        // one byte
        std::fill_n(d1.begin() + 5 * vma::cluster_size, vma::cluster_size, std::uint8_t{0});  // now zeros
        const auto fresh = fresh_data();
        std::copy(fresh.begin(), fresh.end(),
                  d1.begin() + 6 * vma::cluster_size);  // new data
        std::fill_n(d1.begin() + 10 * vma::cluster_size + 2 * vma::block_size, vma::block_size,
                    std::uint8_t{0});            // one block now zeros: its mask changes
        d1[60 * vma::cluster_size + 7] ^= 0x01;  // extent 1
        d1[size1 - 10] ^= 0x01;                  // the partial cluster, extent 1
        d2[2 * vma::cluster_size + 9 * vma::block_size + 4000] ^= 0x5a;  // device 2, extent 1
        d2[80 * vma::cluster_size + 12345] ^= 0x80;                      // extent 3
    }
    static std::vector<std::uint8_t> fresh_data() { return test::make_data(vma::cluster_size, 99); }
};

const std::set<Key> expected_changed = {{1, 3}, {1, 5}, {1, 6}, {1, 10}, {1, 60}, {1, 99}, {2, 2}, {2, 80}};

TEST(ChangedClusterDecoder, DecodesTheChangedClustersFromTheirExtentsOnly)
{
    Fixture f;
    // Windows as the plan path writes them, and small ones that cut clusters
    // apart.
    for (const std::uint64_t window : {std::uint64_t{16} << 20, std::uint64_t{300001}}) {
        SCOPED_TRACE(window);
        const Previous p =
            encode(f.dir, f.full, f.prev_disks, VcdiffWriterOptions{window, std::uint64_t{1} << 30});
        EXPECT_EQ(p.changed, expected_changed);
        // The layout starts from the previous VMA's own header size, not the full's.
        EXPECT_NE(formats::vma_header_size(p.vma, "previous"), formats::vma_header_size(f.full, "full"));
        // The same differential decodes whole to the previous VMA with stock
        // xdelta3.
        EXPECT_EQ(test_delta::stock_decode(f.dir, f.full, p.delta), p.vma);

        const auto stored = stored_clusters(p.vma, p.changed);
        const auto changed = write_changed(f.dir, p, stored, f.prev_disks, [](formats::ClusterRecord&) {});
        const Decoded d = decode(f.framed, changed, p.delta);
        ASSERT_EQ(d.clusters.size(), stored.size());
        auto want = stored.begin();
        for (const DecodedCluster& c : d.clusters) {
            EXPECT_EQ(Key(c.record.dev_id, c.record.cluster), want->first);
            EXPECT_EQ(c.stored, want->second)
                << "cluster " << c.record.cluster << " of device " << int{c.record.dev_id};
            EXPECT_EQ(c.record.stored_size(), c.stored.size());
            ++want;
        }
        EXPECT_TRUE(d.clusters[1].stored.empty());  // device 1 cluster 5: all zeros now
        // Extents 0, 1 and 3 hold partly changed clusters (copied from); extent 2
        // none.
        EXPECT_EQ(d.frames_read, 3U);
    }
}

TEST(ChangedClusterDecoder, AChangedRecordForAClusterCopiedWholeIsRefused)
{
    Fixture f;
    const Previous p = encode(f.dir, f.full, f.prev_disks, VcdiffWriterOptions{});
    auto with_clean = p.changed;
    with_clean.insert({2, 30});  // extent 2, unchanged: the differential copies it whole
    auto stored = stored_clusters(p.vma, with_clean);
    stored[{2, 30}][0] ^= 0x01;  // its record says it holds other bytes
    const auto changed = write_changed(f.dir, p, stored, f.prev_disks, [](formats::ClusterRecord&) {});
    try {
        decode(f.framed, changed, p.delta);
        FAIL() << "decoded";
    } catch (const InStepRefused& e) {
        EXPECT_NE(std::string(e.what()).find("cluster 30 of device 2"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos) << e.what();
    }
}

TEST(ChangedClusterDecoder, ADamagedLiteralIsRefusedByTheClusterSha256)
{
    Fixture f;
    Previous p = encode(f.dir, f.full, f.prev_disks, VcdiffWriterOptions{});
    const auto stored = stored_clusters(p.vma, p.changed);
    const auto changed = write_changed(f.dir, p, stored, f.prev_disks, [](formats::ClusterRecord&) {});
    const auto fresh = Fixture::fresh_data();
    const auto at = std::search(p.delta.begin(), p.delta.end(), fresh.begin(), fresh.begin() + 64);
    ASSERT_NE(at, p.delta.end());
    *(at + 1000) ^= 0x04;
    try {
        decode(f.framed, changed, p.delta);
        FAIL() << "decoded";
    } catch (const InStepRefused& e) {
        EXPECT_NE(std::string(e.what()).find("cluster 6 of device 1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("previous.vcdiff"), std::string::npos) << e.what();
    }
}

// A differential written by hand: literals, but for one changed cluster a COPY
// of the same bytes from another extent of the full (stock xdelta3 decodes it
// all the same).
TEST(ChangedClusterDecoder, ACopyFromAnotherExtentIsRefused)
{
    Fixture f;
    // Device 1 cluster 60 (extent 1) now holds what cluster 3 (extent 0) held.
    const auto c3 = cluster_of(f.full_disks.d1, 3);
    std::copy(c3.begin(), c3.end(), f.prev_disks.d1.begin() + 60 * vma::cluster_size);
    Previous p = encode(f.dir, f.full, f.prev_disks, VcdiffWriterOptions{});
    ASSERT_TRUE(p.changed.count({1, 60}) != 0);
    // Where cluster 3's blocks are in the full, and cluster 60's in the previous
    // VMA.
    std::uint64_t full_offset = 0;
    std::uint64_t target_offset = 0;
    {
        io::MemorySource source(f.full, "<full>");
        formats::VmaClusterReader reader(source);
        while (const auto c = reader.next()) {
            if (c->dev_id == 1 && c->cluster == 3) {
                full_offset = c->stored_offset;
            }
        }
        io::MemorySource prev(p.vma, "<previous>");
        formats::VmaClusterReader prev_reader(prev);
        while (const auto c = prev_reader.next()) {
            if (c->dev_id == 1 && c->cluster == 60) {
                target_offset = c->stored_offset;
            }
        }
    }
    ASSERT_NE(full_offset, 0U);
    ASSERT_NE(target_offset, 0U);
    io::MemorySink sink;
    VcdiffWriter w(sink);
    const auto target = std::span<const std::uint8_t>(p.vma);
    w.add(target.first(target_offset));
    w.copy(full_offset, target.subspan(target_offset, vma::cluster_size));
    w.add(target.subspan(target_offset + vma::cluster_size));
    w.finish();
    EXPECT_EQ(test_delta::stock_decode(f.dir, f.full, sink.data()), p.vma);

    const auto stored = stored_clusters(p.vma, p.changed);
    const auto changed = write_changed(f.dir, p, stored, f.prev_disks, [](formats::ClusterRecord&) {});
    try {
        decode(f.framed, changed, sink.data());
        FAIL() << "decoded";
    } catch (const InStepRefused& e) {
        EXPECT_NE(std::string(e.what()).find("outside the full's extent"), std::string::npos) << e.what();
    }
    // The same bytes as literals decode: only the COPY was refused.
    io::MemorySink literal;
    VcdiffWriter lw(literal);
    lw.add(target);
    lw.finish();
    const Decoded d = decode(f.framed, changed, literal.data());
    EXPECT_EQ(d.clusters.size(), stored.size());
    EXPECT_EQ(d.frames_read, 0U);
}

// The records route copies the new VMA header's unchanged bytes from the full's
// header: the decoder takes them from the full's records. A COPY into the header
// from beyond the full's header is refused.
TEST(ChangedClusterDecoder, ACopyIntoTheVmaHeaderComesFromTheFullsHeader)
{
    Fixture f;
    Previous p = encode(f.dir, f.full, f.prev_disks, VcdiffWriterOptions{});
    const auto target = std::span<const std::uint8_t>(p.vma);
    ASSERT_TRUE(std::equal(target.begin(), target.begin() + 8, f.full.begin()));  // magic, version
    const auto stored = stored_clusters(p.vma, p.changed);
    const auto changed = write_changed(f.dir, p, stored, f.prev_disks, [](formats::ClusterRecord&) {});
    const auto with_header_copy = [&](std::uint64_t from) {
        io::MemorySink sink;
        VcdiffWriter w(sink);
        w.copy(from, target.first(8));
        w.add(target.subspan(8));
        w.finish();
        return sink.data();
    };
    const auto delta = with_header_copy(0);
    EXPECT_EQ(test_delta::stock_decode(f.dir, f.full, delta), p.vma);
    const Decoded d = decode(f.framed, changed, delta);
    EXPECT_EQ(d.clusters.size(), stored.size());

    const std::uint64_t beyond = formats::vma_header_size(f.full, "<full>");
    try {
        decode(f.framed, changed, with_header_copy(beyond - 4));
        FAIL() << "decoded";
    } catch (const InStepRefused& e) {
        EXPECT_NE(std::string(e.what()).find("outside the full's VMA header"), std::string::npos) << e.what();
    }
}

TEST(ChangedClusterDecoder, ATruncatedDifferentialFails)
{
    Fixture f;
    const Previous p =
        encode(f.dir, f.full, f.prev_disks, VcdiffWriterOptions{300001, std::uint64_t{1} << 30});
    const auto stored = stored_clusters(p.vma, p.changed);
    const auto changed = write_changed(f.dir, p, stored, f.prev_disks, [](formats::ClusterRecord&) {});
    for (const std::size_t keep :
         {std::size_t{3}, std::size_t{200}, p.delta.size() / 3, p.delta.size() / 2, p.delta.size() - 1}) {
        SCOPED_TRACE(keep);
        const std::vector<std::uint8_t> cut(p.delta.begin(),
                                            p.delta.begin() + static_cast<std::ptrdiff_t>(keep));
        EXPECT_THROW(decode(f.framed, changed, cut), io::Error);
    }
}

TEST(ChangedClusterDecoder, ATargetLengthOtherThanTheRecordsIsAnError)
{
    Fixture f;
    Previous p = encode(f.dir, f.full, f.prev_disks, VcdiffWriterOptions{});
    const auto stored = stored_clusters(p.vma, p.changed);
    const auto changed = write_changed(f.dir, p, stored, f.prev_disks, [](formats::ClusterRecord&) {});
    // One more window after the last: the target is longer than the records say.
    io::MemorySink extra;
    VcdiffWriter w(extra);
    w.add(std::vector<std::uint8_t>(512, 1));
    w.finish();
    auto delta = p.delta;
    delta.insert(delta.end(), extra.data().begin() + 5,
                 extra.data().end());  // without its header
    try {
        decode(f.framed, changed, delta);
        FAIL() << "decoded";
    } catch (const InStepRefused& e) {
        FAIL() << e.what();
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("changed records give"), std::string::npos) << e.what();
    }
}

}  // namespace test_engine_changed_cluster_decoder
}  // namespace pvediff::engine
