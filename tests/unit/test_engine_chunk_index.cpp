// SPDX-License-Identifier: GPL-2.0-or-later
// The chunk index off the heap: the external sort (many runs, several merge passes,
// first location wins across runs), lookups in the sorted file, the version 2 sidecar
// still read, and a file changed after it was checked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

#include "pvediff/engine/chunk_index.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "record_sort.h"
#include "test_util.h"

namespace pvediff::engine {
namespace {

// Tiny runs and a fan-in of 2: thousands of records take many runs and merge passes.
constexpr IndexBuildBudget tiny_budget{5, 2, 3};

TEST(RecordSorter, ManyRunsKeepTheOrderOfEqualKeys)
{
    test::TempDir dir;
    for (const detail::RecordSorter::Budget budget :
         {detail::RecordSorter::Budget{1, 2, 1}, detail::RecordSorter::Budget{7, 3, 2},
          detail::RecordSorter::Budget{64, 64, 16}, detail::RecordSorter::Budget{}}) {
        detail::RecordSorter sorter(dir.path(), budget);
        std::vector<detail::Record> added;
        std::mt19937_64 rng(budget.run_records);
        for (std::uint64_t i = 0; i < 3000; ++i) {
            const std::uint64_t key = rng() % 500;  // every key ~6 times, in different runs
            sorter.add(key, i);
            added.push_back({key, i});
        }
        std::stable_sort(added.begin(), added.end(),
                         [](const detail::Record& a, const detail::Record& b) { return a.key < b.key; });
        std::vector<detail::Record> out;
        sorter.merge([&](const detail::Record& r) { out.push_back(r); });
        ASSERT_EQ(out.size(), added.size()) << budget.run_records;
        for (std::size_t i = 0; i < out.size(); ++i) {
            ASSERT_EQ(out[i].key, added[i].key) << i;
            ASSERT_EQ(out[i].value, added[i].value) << i;
        }
    }
}

// Chunks of 64 KiB "clusters" (in a shuffled cluster order, as VMA stores them) whose
// contents and 4 KiB blocks repeat, far apart: every key has several locations.
struct Synthetic {
    std::vector<Chunk> chunks;
    std::vector<std::vector<std::uint8_t>> bytes;
};

Synthetic synthetic(std::size_t n)
{
    Synthetic s;
    std::mt19937 rng(42);
    std::vector<std::vector<std::uint8_t>> blocks(400, std::vector<std::uint8_t>(anchor_block));
    for (auto& b : blocks) {
        for (auto& x : b) {
            x = static_cast<std::uint8_t>(rng());
        }
    }
    std::vector<std::uint64_t> clusters(n);
    for (std::size_t i = 0; i < n; ++i) {
        clusters[i] = i % 3 == 0 ? i / 3 : i;  // a third of the cluster keys come again
    }
    std::shuffle(clusters.begin(), clusters.end(), rng);
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<std::uint8_t> bytes;
        for (int b = 0; b < 16; ++b) {
            const auto& block = blocks[rng() % blocks.size()];
            bytes.insert(bytes.end(), block.begin(), block.end());
        }
        Chunk c;
        c.offset = i * 65536;
        c.length = 65536;
        c.hash = rng() % (n / 2);  // 0 included: stored as 1
        c.cluster_key = (std::uint64_t{1} << 48) | (clusters[i] << 4);
        s.chunks.push_back(c);
        s.bytes.push_back(std::move(bytes));
    }
    return s;
}

ChunkIndex build(const Synthetic& s, const ChunkParams& params, const std::filesystem::path& dir,
                 IndexBuildBudget budget)
{
    ChunkIndexBuilder builder(params, dir, budget);
    for (std::size_t i = 0; i < s.chunks.size(); ++i) {
        builder.add(s.chunks[i], s.bytes[i]);
    }
    return builder.finish(s.chunks.size() * 65536);
}

// Every key of `s` found where it was first seen, and keys never added not found.
void expect_first_locations(const ChunkIndex& index, const Synthetic& s)
{
    std::map<std::uint64_t, std::uint64_t> chunk_at;
    std::map<std::uint64_t, std::uint64_t> cluster_at;
    std::map<std::uint64_t, std::uint64_t> anchor_at;
    for (std::size_t i = 0; i < s.chunks.size(); ++i) {
        const Chunk& c = s.chunks[i];
        chunk_at.emplace(c.hash == 0 ? 1 : c.hash, c.offset);
        cluster_at.emplace(c.cluster_key, c.offset);
        for (std::size_t b = 0; b < 16; ++b) {
            if (const auto a = anchor_hash(std::span(s.bytes[i]).subspan(b * anchor_block, anchor_block))) {
                anchor_at.emplace(*a, c.cluster_key | b);
            }
        }
    }
    EXPECT_EQ(index.entry_count(), chunk_at.size());
    EXPECT_EQ(index.cluster_count(), cluster_at.size());
    EXPECT_EQ(index.anchor_count(), anchor_at.size());
    ASSERT_GT(anchor_at.size(), 0U);
    for (const auto& [hash, offset] : chunk_at) {
        const auto loc = index.find(hash);
        ASSERT_TRUE(loc) << hash;
        EXPECT_EQ(loc->offset, offset) << hash;
        EXPECT_EQ(loc->length, 65536U);
    }
    EXPECT_TRUE(index.find(0));  // stored as 1, found as 1
    for (const auto& [key, offset] : cluster_at) {
        const auto loc = index.find_cluster(key);
        ASSERT_TRUE(loc) << key;
        EXPECT_EQ(loc->offset, offset) << key;
    }
    for (const auto& [hash, block] : anchor_at) {
        EXPECT_EQ(index.find_anchor(hash), block) << hash;
    }
    for (std::uint64_t absent = s.chunks.size(); absent < s.chunks.size() + 300; ++absent) {
        EXPECT_FALSE(index.find(absent));
        EXPECT_FALSE(index.find_cluster((std::uint64_t{2} << 48) | (absent << 4)));
        EXPECT_FALSE(index.find_anchor(absent));
    }
    EXPECT_FALSE(index.find(~std::uint64_t{0}));
}

TEST(ChunkIndexBuild, ManyRunsFirstLocationWins)
{
    test::TempDir dir;
    const Synthetic s = synthetic(2000);
    const ChunkParams params{1024, 4096, 65536, 4};
    const ChunkIndex small = build(s, params, dir.path(), tiny_budget);
    expect_first_locations(small, s);
    EXPECT_EQ(small.chunk_count(), s.chunks.size());

    // The same file whatever the budget: the sort is exact, not approximate.
    const ChunkIndex large = build(s, params, dir.path(), {});
    small.save(dir / "small.idx");
    large.save(dir / "large.idx");
    EXPECT_EQ(test::sha256_hex_of_file(dir / "small.idx"), test::sha256_hex_of_file(dir / "large.idx"));

    const ChunkIndex loaded = ChunkIndex::load(dir / "small.idx");
    expect_first_locations(loaded, s);
    // Looked up in the file: memory is the directory (8 B per 256 entries) and the caches.
    EXPECT_LT(loaded.memory_bytes(), 3 * 64 * 4096 + 1024);
    // Scratch files are unnamed: nothing is left in the directory but the two sidecars.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) {
        ++files;
    }
    EXPECT_EQ(files, 2U);
}

TEST(ChunkIndexBuild, FromAStreamWithATinyBudget)
{
    test::TempDir dir;
    // Repeats far apart: the second copy of each piece of content must not win.
    auto data = test::make_data(2 << 20, 3);
    const auto copy = std::vector<std::uint8_t>(data.begin(), data.begin() + (1 << 20));
    data.insert(data.end(), copy.begin(), copy.end());
    const ChunkParams params{1024, 4096, 16384, 4};
    io::MemorySource a(data);
    io::MemorySource b(data);
    const ChunkIndex tiny = build_chunk_index(a, params, nullptr, dir.path(), tiny_budget);
    const ChunkIndex normal = build_chunk_index(b, params, nullptr, dir.path());
    ASSERT_GT(tiny.chunk_count(), tiny.entry_count());  // there are duplicates
    tiny.save(dir / "tiny.idx");
    normal.save(dir / "normal.idx");
    EXPECT_EQ(test::sha256_hex_of_file(dir / "tiny.idx"), test::sha256_hex_of_file(dir / "normal.idx"));
    std::map<std::uint64_t, Chunk> first;
    std::size_t repeated = 0;
    Chunker chunker(params, nullptr, [&](const Chunk& c, std::span<const std::uint8_t>) {
        repeated += first.emplace(c.hash == 0 ? 1 : c.hash, c).second ? 0 : 1;
    });
    chunker.feed(data);
    chunker.finish();
    EXPECT_GT(repeated, 50U);  // the second copy's chunks, after the seam
    for (const auto& [hash, c] : first) {
        const auto loc = tiny.find(hash);
        ASSERT_TRUE(loc);
        EXPECT_EQ(loc->offset, c.offset);
        EXPECT_EQ(loc->length, c.length);
    }
}

// Rewrites the sidecar's checksum after an edit (a valid but hostile or old file).
void reseal(std::vector<std::uint8_t>& file)
{
    const std::uint64_t sum = XXH3_64bits(file.data(), file.size() - 8);
    std::memcpy(file.data() + file.size() - 8, &sum, 8);  // little-endian host
}

TEST(ChunkIndexFile, SortedStrictlyAndCheckedForOrder)
{
    test::TempDir dir;
    const Synthetic s = synthetic(300);
    build(s, ChunkParams{1024, 4096, 65536, 4}, dir.path(), {}).save(dir / "good.idx");
    auto file = test::read_file(dir / "good.idx");
    constexpr std::size_t header = 120;  // version 5
    const std::uint64_t entries = io::load_le64(file.data() + 48);
    for (std::uint64_t i = 1; i < entries; ++i) {
        EXPECT_LT(io::load_le64(file.data() + header + (i - 1) * 16),
                  io::load_le64(file.data() + header + i * 16));
    }
    // Two entries swapped (checksum made right again): named with the offset.
    std::swap_ranges(file.begin() + header + 16 * 5, file.begin() + header + 16 * 6,
                     file.begin() + header + 16 * 6);
    reseal(file);
    test::write_file(dir / "bad.idx", file);
    try {
        (void)ChunkIndex::load(dir / "bad.idx");
        ADD_FAILURE() << "loaded entries out of order";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find((dir / "bad.idx").string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(std::to_string(header + 16 * 6)), std::string::npos) << e.what();
    }
}

TEST(ChunkIndexFile, Version2IsStillRead)
{
    test::TempDir dir;
    const Synthetic s = synthetic(500);
    build(s, ChunkParams{1024, 4096, 65536, 4}, dir.path(), {}).save(dir / "v5.idx");
    auto file = test::read_file(dir / "v5.idx");
    // Version 2 had no content hashes (the 48 bytes after the counts in version 5) and
    // wrote its tables in hash-table order: here, each table reversed.
    constexpr std::size_t header = 72;
    file.erase(file.begin() + header, file.begin() + header + 48);
    std::size_t at = header;
    for (const std::size_t field : {48, 56, 64}) {
        const std::size_t n = io::load_le64(file.data() + field);
        for (std::size_t i = 0; i < n / 2; ++i) {
            std::swap_ranges(file.begin() + static_cast<std::ptrdiff_t>(at + i * 16),
                             file.begin() + static_cast<std::ptrdiff_t>(at + i * 16 + 16),
                             file.begin() + static_cast<std::ptrdiff_t>(at + (n - 1 - i) * 16));
        }
        at += n * 16;
    }
    file[8] = 2;
    reseal(file);
    test::write_file(dir / "v2.idx", file);
    expect_first_locations(ChunkIndex::load(dir / "v2.idx"), s);

    // A key twice is an error in version 2 as it always was.
    std::memcpy(file.data() + header + 16, file.data() + header, 8);
    reseal(file);
    test::write_file(dir / "v2dup.idx", file);
    EXPECT_THROW((void)ChunkIndex::load(dir / "v2dup.idx"), io::Error);
}

TEST(ChunkIndexFile, AHitChangedAfterTheCheckIsAnError)
{
    test::TempDir dir;
    const Synthetic s = synthetic(300);
    build(s, ChunkParams{1024, 4096, 65536, 4}, dir.path(), {}).save(dir / "idx");
    const ChunkIndex index = ChunkIndex::load(dir / "idx");
    auto file = test::read_file(dir / "idx");
    constexpr std::size_t header = 120;  // version 5
    const std::uint64_t first_hash = io::load_le64(file.data() + header);
    // Length 0 written over the first entry's location, in place (same inode).
    std::memset(file.data() + header + 8, 0, 8);
    {
        io::Fd fd = io::open_fd((dir / "idx").string(), O_WRONLY);
        io::pwrite_all(fd.get(), std::span<const std::uint8_t>(file.data() + header + 8, 8), header + 8,
                       "idx");
    }
    try {
        (void)index.find(first_hash);
        ADD_FAILURE() << "a changed entry was used";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find((dir / "idx").string()), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace pvediff::engine
