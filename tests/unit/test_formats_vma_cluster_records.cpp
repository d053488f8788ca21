// SPDX-License-Identifier: GPL-2.0-or-later
// VmaFramedWriter and the records readers: a framed full decompresses (by the real
// zstd tool) to the VMA it was given, each record says what a plain parse of that VMA
// says (offsets, masks, Adler-32 and SHA-256 of each cluster's stored blocks), each
// extent is one frame io::ZstdFrameReader gives back exactly; a records file that is
// crafted, cut or damaged is refused with the offset.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/zstd_frame_reader.h"
#include "test_formats_helpers.h"

namespace pvediff::formats {
namespace {

using test::TempDir;

// Two devices (9 MiB and 1.5 MiB + 4 KiB: several extents, a short last cluster).
std::vector<std::uint8_t> sample_vma(std::uint32_t seed = 7)
{
    const std::vector<test::SyntheticDevice> devs{{"drive-scsi0", 9U << 20},
                                                  {"drive-scsi1", (3U << 19) + 4096}};
    std::vector<std::vector<std::uint8_t>> disks;
    for (const auto& d : devs) {
        disks.push_back(test::synthetic_disk(d.size, seed + static_cast<std::uint32_t>(disks.size())));
    }
    return test::write_vma(devs, disks, {}, seed);
}

struct Framed {
    std::filesystem::path full;
    std::filesystem::path records;
};

// Writes `vma` framed, in slices of `slice` bytes.
Framed write_framed(const TempDir& dir, std::span<const std::uint8_t> vma, int threads,
                    std::size_t slice = 100'003)
{
    Framed f{dir / "vzdump-qemu-100-2026_01_01-00_00_00.vma.zst", {}};
    f.records = cluster_records_path(f.full);
    io::AtomicFile full(f.full);
    io::AtomicFile records(f.records);
    io::CompressOptions options;
    options.threads = threads;
    VmaFramedWriter w(full.sink(), records.sink(), f.full.string(), options);
    for (std::size_t at = 0; at < vma.size(); at += slice) {
        w.write(vma.subspan(at, std::min(slice, vma.size() - at)));
    }
    w.finish();
    full.commit();
    records.commit();
    return f;
}

class FramedWriterTest : public ::testing::TestWithParam<int> {};

TEST_P(FramedWriterTest, RecordsMatchAPlainParseAndFramesGiveEachExtent)
{
    TempDir dir;
    const auto vma = sample_vma();
    const Framed f = write_framed(dir, vma, GetParam());

    // The real zstd tool reads it as one zstd file: the same bytes, checksums good.
    ASSERT_EQ(test::run("zstd -q -t " + test::shell_quote(f.full.string())), 0);
    ASSERT_EQ(test::run("zstd -q -dc " + test::shell_quote(f.full.string()) + " > " +
                        test::shell_quote((dir / "out.vma").string())),
              0);
    ASSERT_EQ(test::read_file(dir / "out.vma"), vma);

    io::MemorySource src(vma, "plain.vma");
    VmaClusterReader plain(src);
    FullRecordsReader records(f.records);
    io::ZstdFrameReader frames(io::open_regular_file(f.full), f.full.string());
    const auto header = records.vma_header();
    ASSERT_EQ(header.size(), plain.header().header_size);
    EXPECT_TRUE(std::equal(header.begin(), header.end(), vma.begin()));
    EXPECT_EQ(records.header_frame_offset(), 0U);
    const auto header_frame = frames.frame(0, records.header_frame_size(), header.size());
    EXPECT_TRUE(std::equal(header_frame.begin(), header_frame.end(), vma.begin()));

    std::size_t extents = 0;
    std::size_t clusters = 0;
    std::uint64_t frame_end = records.header_frame_size();
    while (const auto e = records.next()) {
        ++extents;
        EXPECT_EQ(e->frame_offset, frame_end);
        frame_end = e->frame_offset + e->frame_size;
        ASSERT_LE(e->offset + e->length(), vma.size());
        EXPECT_TRUE(std::equal(e->header.begin(), e->header.end(),
                               vma.begin() + static_cast<std::ptrdiff_t>(e->offset)));
        const auto bytes = frames.frame(e->frame_offset, e->frame_size, e->length());
        ASSERT_EQ(bytes.size(), e->length());
        EXPECT_EQ(std::memcmp(bytes.data(), vma.data() + e->offset, bytes.size()), 0);
        for (const ClusterRecord& c : e->clusters) {
            const auto p = plain.next();
            ASSERT_TRUE(p);
            ++clusters;
            EXPECT_EQ(c.dev_id, p->dev_id);
            EXPECT_EQ(c.cluster, p->cluster);
            EXPECT_EQ(c.mask, p->mask);
            EXPECT_EQ(c.stored_offset, p->stored_offset);
            EXPECT_EQ(p->extent_offset, e->offset);
            EXPECT_EQ(c.stored_size(), p->stored.size());
            EXPECT_EQ(c.adler32,
                      static_cast<std::uint32_t>(adler32_z(1, p->stored.data(), p->stored.size())));
            EXPECT_EQ(c.sha256, test::sha256_of(p->stored));
        }
    }
    EXPECT_FALSE(plain.next());
    EXPECT_GT(extents, 2U);
    EXPECT_EQ(clusters, 144U + 25U);
    const RecordsTrailer t = records.finish();
    EXPECT_EQ(t.content_size, vma.size());
    EXPECT_EQ(t.content_sha256, test::sha256_of(vma));
    EXPECT_EQ(t.file_size, std::filesystem::file_size(f.full));
    EXPECT_EQ(t.file_size, frame_end);
    EXPECT_EQ(frames.frames_read(), extents + 1);
}

INSTANTIATE_TEST_SUITE_P(Threads, FramedWriterTest, ::testing::Values(1, 3));

TEST(FramedWriter, SameBytesWhateverTheSlicesAndThreads)
{
    TempDir a;
    TempDir b;
    const auto vma = sample_vma(3);
    const Framed one = write_framed(a, vma, 1, 4096 * 1000 + 7);
    const Framed many = write_framed(b, vma, 4, 333);
    EXPECT_EQ(test::read_file(one.full), test::read_file(many.full));
    EXPECT_EQ(test::read_file(one.records), test::read_file(many.records));
}

TEST(FramedWriter, RefusesWhatIsNotAWholeVma)
{
    auto vma = sample_vma();
    io::CompressOptions options;
    auto write = [&](std::span<const std::uint8_t> bytes) {
        io::MemorySink file;
        io::MemorySink records;
        VmaFramedWriter w(file, records, "in.vma", options);
        w.write(bytes);
        w.finish();
    };
    EXPECT_NE(
        test::error_of([&] { write(std::span(vma).first(vma.size() - 1)); }).find("ends inside an extent"),
        std::string::npos);
    EXPECT_NE(test::error_of([&] { write(std::span(vma).first(5000)); }).find("ends inside the vma header"),
              std::string::npos);
    vma[0] = 'X';
    EXPECT_NE(test::error_of([&] { write(vma); }).find("in.vma"), std::string::npos);
}

// The whole file, the reader run to the end; the error's message or "".
std::string read_full_records(const std::filesystem::path& path)
{
    return test::error_of([&] {
        FullRecordsReader r(path);
        while (r.next()) {
        }
        r.finish();
    });
}

// Replaces the trailing SHA-256 so that a crafted change reaches the field checks.
void reseal(std::vector<std::uint8_t>& file)
{
    const auto digest = test::sha256_of(std::span(file).first(file.size() - 32));
    std::copy(digest.begin(), digest.end(), file.end() - 32);
}

class CraftedRecords : public ::testing::Test {
protected:
    void SetUp() override
    {
        vma_ = sample_vma();
        framed_ = write_framed(dir_, vma_, 2);
        good_ = test::read_file(framed_.records);
        const std::uint32_t header_size = io::load_le32(good_.data() + 16);
        first_extent_ = 16 + 16 + header_size;
    }
    // The reader's message for `bytes` as a records file.
    std::string refuse(const std::vector<std::uint8_t>& bytes)
    {
        const auto path = dir_ / "crafted.pvediff-vma-clusters";
        std::filesystem::remove(path);
        test::write_file(path, bytes);
        return read_full_records(path);
    }

    TempDir dir_;
    std::vector<std::uint8_t> vma_;
    Framed framed_;
    std::vector<std::uint8_t> good_;
    std::size_t first_extent_ = 0;
};

TEST_F(CraftedRecords, TheGoodOneReads)
{
    EXPECT_EQ(refuse(good_), "");
}

TEST_F(CraftedRecords, BadMagicVersionKind)
{
    auto f = good_;
    f[0] = 'X';
    EXPECT_NE(refuse(f).find("offset 0: cluster records: not a pvediff cluster records file"),
              std::string::npos);
    f = good_;
    f[8] = 2;
    EXPECT_NE(refuse(f).find("offset 8: "), std::string::npos);
    f = good_;
    f[12] = 2;  // a changed records file read as a full's
    EXPECT_NE(refuse(f).find("offset 12: "), std::string::npos);
}

TEST_F(CraftedRecords, NonContiguousOffsets)
{
    auto f = good_;
    f[first_extent_ + 1] ^= 1;  // content offset of the first extent
    reseal(f);
    EXPECT_NE(refuse(f).find(
                  fmt::format("offset {}: cluster records: extent at content offset", first_extent_ + 1)),
              std::string::npos);
    f = good_;
    f[first_extent_ + 9] ^= 1;  // its frame offset
    reseal(f);
    EXPECT_NE(refuse(f).find("frame at"), std::string::npos);
    f = good_;
    io::store_le32(f.data() + first_extent_ + 17, 0);  // its frame size
    reseal(f);
    EXPECT_NE(refuse(f).find("frame size 0 out of range"), std::string::npos);
}

TEST_F(CraftedRecords, CountsThatDoNotAddUp)
{
    auto f = good_;
    const std::size_t header_at = first_extent_ + 21;
    f[header_at + 7] ^= 1;  // block_count
    reseal(f);
    EXPECT_NE(refuse(f).find(fmt::format("offset {}: block count", header_at)), std::string::npos);
    f = good_;
    f.insert(f.end() - 32 - 56 - 1, 0xee);  // before the end tag: not a tag
    reseal(f);
    EXPECT_NE(refuse(f).find("unknown record tag"), std::string::npos);
    f = good_;
    f[f.size() - 32 - 56] ^= 1;  // the trailer's extent count
    reseal(f);
    EXPECT_NE(refuse(f).find("the trailer counts"), std::string::npos);
    f = good_;
    f[f.size() - 32 - 48] ^= 1;  // content size
    reseal(f);
    EXPECT_NE(refuse(f).find("content size"), std::string::npos);
    f = good_;
    f[f.size() - 32 - 8] ^= 1;  // file size
    reseal(f);
    EXPECT_NE(refuse(f).find("file size"), std::string::npos);
}

TEST_F(CraftedRecords, DamagedChecksumOrTrailingBytes)
{
    auto f = good_;
    f[first_extent_ + 21 + 10] ^= 1;  // the first extent's uuid, not resealed
    EXPECT_NE(refuse(f).find(fmt::format("offset {}: cluster records: checksum mismatch", f.size() - 32)),
              std::string::npos);
    f = good_;
    f.back() ^= 1;
    EXPECT_NE(refuse(f).find("checksum mismatch"), std::string::npos);
    f = good_;
    f.push_back(0);
    EXPECT_NE(refuse(f).find("bytes follow the checksum"), std::string::npos);
}

TEST_F(CraftedRecords, CutAnywhereIsAnErrorNamingTheFile)
{
    for (std::size_t n = 0; n < good_.size(); n += (n < first_extent_ ? 997 : 61)) {
        const std::string e =
            refuse(std::vector<std::uint8_t>(good_.begin(), good_.begin() + static_cast<std::ptrdiff_t>(n)));
        EXPECT_NE(e.find("crafted.pvediff-vma-clusters"), std::string::npos) << n;
        EXPECT_NE(e.find("offset "), std::string::npos) << n << e;
    }
    EXPECT_NE(refuse(std::vector<std::uint8_t>(good_.begin(), good_.end() - 1)).find("truncated"),
              std::string::npos);
}

TEST_F(CraftedRecords, ALinkIsNotFollowed)
{
    const auto link = dir_ / "link.pvediff-vma-clusters";
    std::filesystem::create_symlink(framed_.records, link);
    EXPECT_NE(read_full_records(link).find("symbolic link"), std::string::npos);
}

ClusterRecord change(std::uint8_t dev, std::uint32_t cluster, std::uint16_t mask, std::uint8_t fill)
{
    ClusterRecord c;
    c.dev_id = dev;
    c.cluster = cluster;
    c.mask = mask;
    const std::vector<std::uint8_t> stored(c.stored_size(), fill);
    c.adler32 = static_cast<std::uint32_t>(adler32_z(1, stored.data(), stored.size()));
    c.sha256 = test::sha256_of(stored);
    return c;
}

std::vector<ClusterRecord> sample_changes()
{
    return {change(1, 0, 0xffff, 1), change(1, 7, 0x0101, 2), change(1, 8, 0, 0), change(2, 0, 0x8000, 3)};
}

void write_changes(const std::filesystem::path& path, const std::vector<ClusterRecord>& changes)
{
    ChangedRecordsWriter w(path, io::FileMode{});
    for (const auto& c : changes) {
        w.add(c);
    }
    RecordsTrailer t;
    t.content_size = 12345;
    t.content_sha256[0] = 9;
    t.file_size = 678;
    w.commit(t);
}

std::string read_changes(const std::filesystem::path& path, std::vector<ClusterRecord>* out = nullptr)
{
    return test::error_of([&] {
        ChangedRecordsReader r(path);
        while (const auto c = r.next()) {
            if (out != nullptr) {
                out->push_back(*c);
            }
        }
        const auto t = r.finish();
        EXPECT_EQ(t.content_size, 12345U);
        EXPECT_EQ(t.content_sha256[0], 9);
        EXPECT_EQ(t.file_size, 678U);
    });
}

TEST(ChangedRecords, RoundTrip)
{
    TempDir dir;
    const auto path = dir / "d.vcdiff.zst.pvediff-vma-clusters";
    write_changes(path, sample_changes());
    std::vector<ClusterRecord> got;
    ASSERT_EQ(read_changes(path, &got), "");
    const auto want = sample_changes();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].dev_id, want[i].dev_id);
        EXPECT_EQ(got[i].cluster, want[i].cluster);
        EXPECT_EQ(got[i].mask, want[i].mask);
        EXPECT_EQ(got[i].adler32, want[i].adler32);
        EXPECT_EQ(got[i].sha256, want[i].sha256);
    }
    // Only the committed name is left.
    std::size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++entries;
    }
    EXPECT_EQ(entries, 1U);
}

TEST(ChangedRecords, WriterRefusesDisorderAndLeavesNothingUncommitted)
{
    TempDir dir;
    const auto path = dir / "d.pvediff-vma-clusters";
    {
        ChangedRecordsWriter w(path, io::FileMode{});
        w.add(change(1, 5, 1, 1));
        EXPECT_THROW(w.add(change(1, 5, 1, 1)), io::Error);
        EXPECT_THROW(w.add(change(1, 4, 1, 1)), io::Error);
        auto bad = change(1, 9, 0, 0);
        bad.adler32 = 7;
        EXPECT_THROW(w.add(bad), io::Error);
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ChangedRecords, ReaderRefusesCraftedFiles)
{
    TempDir dir;
    const auto path = dir / "d.pvediff-vma-clusters";
    write_changes(path, sample_changes());
    const auto good = test::read_file(path);
    constexpr std::size_t first = 16;
    constexpr std::size_t record = 44;
    auto check = [&](std::vector<std::uint8_t> f, const std::string& want) {
        std::filesystem::remove(path);
        test::write_file(path, f);
        const std::string e = read_changes(path);
        EXPECT_NE(e.find(want), std::string::npos) << e;
    };
    auto f = good;
    std::swap_ranges(f.begin() + first, f.begin() + first + record, f.begin() + first + record);
    reseal(f);
    check(f, fmt::format("offset {}: cluster records: cluster 0 of device 1 is not after", first + record));
    f = good;
    f[first + record + 6] = 0;  // a mask of nothing, with the checksums of two blocks
    f[first + record + 7] = 0;
    reseal(f);
    check(f, fmt::format("offset {}: cluster records: a cluster with nothing stored", first + record));
    f = good;
    f[first + 1] = 0;  // device 0
    reseal(f);
    check(f, "device id 0");
    f = good;
    f[12] = 1;  // a full's kind
    reseal(f);
    check(f, "offset 12: ");
    f = good;
    f[first + 10] ^= 1;  // not resealed
    check(f, "checksum mismatch");
    f.assign(good.begin(), good.end() - 40);
    check(f, "truncated");
}

}  // namespace
}  // namespace pvediff::formats
