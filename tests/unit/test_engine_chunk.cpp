// SPDX-License-Identifier: GPL-2.0-or-later
// Chunker determinism and the chunk index sidecar: round trip and corruption.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>
#include <random>
#include <set>

#include "pvediff/engine/chunk_chunker.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "pvediff/io/xxh128.h"
#include "test_util.h"

namespace pvediff::engine {
namespace {

std::vector<Chunk> chunk_all(const std::vector<std::uint8_t>& data, std::size_t piece,
                             const ChunkParams& params, const LayoutFactory& layout)
{
    std::vector<Chunk> chunks;
    std::uint64_t expect = 0;
    Chunker chunker(params, layout, [&](const Chunk& c, std::span<const std::uint8_t> bytes) {
        EXPECT_EQ(c.offset, expect);
        EXPECT_EQ(bytes.size(), c.length);
        EXPECT_EQ(std::memcmp(bytes.data(), data.data() + c.offset, c.length), 0);
        expect += c.length;
        chunks.push_back(c);
    });
    std::mt19937 rng(static_cast<std::uint32_t>(piece));
    for (std::size_t pos = 0; pos < data.size();) {
        // piece 0 = random piece sizes
        const std::size_t n = std::min(data.size() - pos, piece != 0 ? piece : 1 + rng() % 300000);
        chunker.feed(std::span<const std::uint8_t>(data.data() + pos, n));
        pos += n;
    }
    chunker.finish();
    EXPECT_EQ(expect, data.size());
    return chunks;
}

bool same_chunks(const std::vector<Chunk>& a, const std::vector<Chunk>& b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].offset != b[i].offset || a[i].length != b[i].length || a[i].hash != b[i].hash) {
            return false;
        }
    }
    return true;
}

TEST(Chunker, DeterministicAcrossPieceSizes)
{
    const auto data = test::make_data(5 << 20, 21);
    const ChunkParams params;
    const auto ref = chunk_all(data, data.size(), params, nullptr);
    ASSERT_GT(ref.size(), 20U);
    for (const std::size_t piece :
         {std::size_t{1} << 20, std::size_t{4096}, std::size_t{777}, std::size_t{0}}) {
        EXPECT_TRUE(same_chunks(ref, chunk_all(data, piece, params, nullptr))) << piece;
    }
    for (const auto& c : ref) {
        EXPECT_LE(c.length, params.max_size);
    }
    // Average close to the target (min + 2^bits).
    const double avg = static_cast<double>(data.size()) / static_cast<double>(ref.size());
    EXPECT_GT(avg, params.avg_size * 0.6);
    EXPECT_LT(avg, params.avg_size * 1.6);
}

TEST(Chunker, ResynchronisesAfterInsertion)
{
    const auto data = test::make_data(4 << 20, 5);
    auto changed = data;
    const auto insert = test::make_data(10000, 99);
    changed.insert(changed.begin() + 1000000, insert.begin(), insert.end());
    const ChunkParams params;
    const auto a = chunk_all(data, 65536, params, nullptr);
    const auto b = chunk_all(changed, 65536, params, nullptr);
    std::set<std::uint64_t> hashes;
    for (const auto& c : a) {
        hashes.insert(c.hash);
    }
    std::uint64_t missed = 0;
    for (const auto& c : b) {
        if (!hashes.contains(c.hash)) {
            missed += c.length;
        }
    }
    EXPECT_LT(missed, 10000U + 3 * params.max_size);
}

TEST(Chunker, EmptyAndTinyStreams)
{
    const ChunkParams params;
    EXPECT_TRUE(chunk_all({}, 1, params, nullptr).empty());
    EXPECT_TRUE(chunk_all({}, 1, params, format_layout_factory()).empty());
    const auto tiny = test::make_data(100, 1);
    EXPECT_EQ(chunk_all(tiny, 7, params, format_layout_factory()).size(), 1U);
}

TEST(Chunker, RejectsBadParams)
{
    EXPECT_THROW(check_chunk_params(ChunkParams{8192, 4096, 65536, 4}), io::Error);
    EXPECT_THROW(check_chunk_params(ChunkParams{2048, 8192, 65536, 3}), io::Error);
    EXPECT_NO_THROW(check_chunk_params(ChunkParams{2048, 8192, 65536, 4}));
}

ChunkIndex index_of(const std::vector<std::uint8_t>& data, const ChunkParams& params = {})
{
    io::MemorySource src(data);
    return build_chunk_index(src, params, nullptr);
}

TEST(ChunkIndex, FindsEveryChunkOfTheFull)
{
    const auto data = test::make_data(3 << 20, 8);
    const auto index = index_of(data);
    EXPECT_EQ(index.content_size(), data.size());
    for (const auto& c : chunk_all(data, 100000, ChunkParams{}, nullptr)) {
        const auto loc = index.find(c.hash);
        ASSERT_TRUE(loc);
        EXPECT_EQ(loc->length, c.length);
        EXPECT_EQ(std::memcmp(data.data() + loc->offset, data.data() + c.offset, c.length), 0);
    }
    EXPECT_FALSE(index.find(12345));
}

// Every chunk of `data` is found at the same place in both indexes.
void expect_same_places(const std::vector<std::uint8_t>& data, const ChunkParams& params,
                        const ChunkIndex& index, const ChunkIndex& loaded)
{
    for (const auto& c : chunk_all(data, 1 << 20, params, nullptr)) {
        const auto a = index.find(c.hash);
        const auto b = loaded.find(c.hash);
        ASSERT_TRUE(a && b);
        EXPECT_EQ(a->offset, b->offset);
        EXPECT_EQ(a->length, b->length);
    }
}

TEST(ChunkIndex, SaveLoadRoundTrip)
{
    test::TempDir dir;
    const auto data = test::make_data(4 << 20, 9);
    const ChunkParams params{4096, 16384, 65536, 4};
    const auto index = index_of(data, params);
    const auto path = dir / "full.pvediff-index";
    index.save(path);
    EXPECT_EQ(std::filesystem::file_size(path), index.file_bytes());
    const auto loaded = ChunkIndex::load(path);
    EXPECT_EQ(loaded.params(), params);
    EXPECT_EQ(loaded.content_size(), index.content_size());
    EXPECT_EQ(loaded.chunk_count(), index.chunk_count());
    EXPECT_EQ(loaded.entry_count(), index.entry_count());
    expect_same_places(data, params, index, loaded);
}

TEST(ChunkIndex, KeepsTheContentHashesAndReadsVersions3And4)
{
    test::TempDir dir;
    const auto data = test::make_data(1 << 20, 11);
    const ChunkParams params{4096, 16384, 65536, 4};
    auto index = index_of(data, params);
    // The build takes the XXH3-128 of what it indexes itself.
    io::Xxh128 xxh;
    xxh.update(data);
    const io::Xxh128Digest xxh128 = xxh.finish();
    EXPECT_EQ(index.content_xxh128(), std::optional<io::Xxh128Digest>(xxh128));
    const XXH128_hash_t direct = XXH3_128bits(data.data(), data.size());
    EXPECT_EQ(io::load_be64(xxh128.data()), direct.high64) << "canonical form: big-endian, high half first";
    EXPECT_EQ(io::load_be64(xxh128.data() + 8), direct.low64);
    const auto path = dir / "full.pvediff-index";
    index.save(path);
    EXPECT_FALSE(ChunkIndex::load(path).content_sha256()) << "no SHA-256 given, none read back";
    EXPECT_EQ(ChunkIndex::load(path).content_xxh128(), std::optional<io::Xxh128Digest>(xxh128));

    io::Sha256 sha;
    sha.update(data);
    const io::Digest digest = sha.finish();
    index.set_content_sha256(digest);
    index.save(path);
    EXPECT_EQ(ChunkIndex::load(path).content_sha256(), std::optional<io::Digest>(digest));
    const auto v5 = test::read_file(path);

    // Version 4 (written before the XXH3-128 was kept): without its 16 bytes after the
    // SHA-256, and a checksum over what is left.
    constexpr std::size_t counts_end = 8 + 4 * 6 + 8 * 5;
    auto older = [&](std::uint32_t version, std::size_t drop) {
        auto file = v5;
        const auto from = static_cast<std::ptrdiff_t>(counts_end + (version == 4 ? 32 : 0));
        file.erase(file.begin() + from, file.begin() + from + static_cast<std::ptrdiff_t>(drop));
        io::store_le32(file.data() + 8, version);
        io::store_le64(file.data() + file.size() - 8, XXH3_64bits(file.data(), file.size() - 8));
        test::write_file(path, file);
        return ChunkIndex::load(path);
    };
    const auto v4 = older(4, 16);
    EXPECT_EQ(v4.content_sha256(), std::optional<io::Digest>(digest));
    EXPECT_FALSE(v4.content_xxh128());
    expect_same_places(data, params, index, v4);
    // Version 3 (written before the SHA-256 was kept): neither hash.
    const auto v3 = older(3, 48);
    EXPECT_FALSE(v3.content_sha256());
    EXPECT_FALSE(v3.content_xxh128());
    EXPECT_EQ(v3.content_size(), data.size());
    expect_same_places(data, params, index, v3);
}

TEST(ChunkIndex, CorruptFilesFailCleanly)
{
    test::TempDir dir;
    const auto data = test::make_data(600000, 10);
    const auto index = index_of(data, ChunkParams{1024, 4096, 16384, 4});
    const auto good_path = dir / "good";
    index.save(good_path);
    const auto good = test::read_file(good_path);
    const auto bad_path = dir / "bad";
    auto expect_error = [&](const std::vector<std::uint8_t>& bytes, const std::string& what) {
        test::write_file(bad_path, bytes);
        try {
            (void)ChunkIndex::load(bad_path);
            ADD_FAILURE() << "loaded a corrupt index: " << what;
        } catch (const io::Error& e) {
            EXPECT_NE(std::string(e.what()).find(bad_path.string()), std::string::npos) << e.what();
        }
    };
    for (std::size_t len = 0; len < good.size(); len += (len < 200 ? 1 : 61)) {
        expect_error(std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)),
                     "truncated to " + std::to_string(len));
    }
    for (std::size_t pos = 0; pos < good.size(); pos += (pos < 80 ? 1 : 37)) {
        auto bad = good;
        bad[pos] ^= 0x40;
        expect_error(bad, "byte flipped at " + std::to_string(pos));
    }
    auto longer = good;
    longer.push_back(0);
    expect_error(longer, "trailing byte");
    EXPECT_THROW((void)ChunkIndex::load(dir / "missing"), io::Error);
}

}  // namespace
}  // namespace pvediff::engine
