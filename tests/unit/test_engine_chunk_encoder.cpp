// SPDX-License-Identifier: GPL-2.0-or-later
// The chunked encoder end to end: its deltas must rebuild the new archive with stock
// xdelta3, and be small where the change is small, whatever the distance or order.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>
#include <string_view>

#include "pvediff/engine/chunk_chunker.h"
#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_scan.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "test_util.h"

namespace pvediff::engine {
namespace {

using test::TempDir;

struct Outcome {
    EncodeResult result;
    ChunkEncodeStats stats;
    std::vector<std::uint8_t> delta;
};

enum class IndexMode { stored, built, built_reopen };

Outcome encode_files(const std::filesystem::path& base, const std::filesystem::path& target, IndexMode mode)
{
    Outcome o;
    ChunkEncoderOptions options;
    options.stats = &o.stats;
    options.spill_dir = base.parent_path();
    if (mode == IndexMode::stored) {
        io::FileSource full(base.string());
        auto index = build_chunk_index(full, options.chunking, options.layout);
        index.save(base.string() + ".idx");
        options.index = std::make_shared<const ChunkIndex>(ChunkIndex::load(base.string() + ".idx"));
    } else if (mode == IndexMode::built_reopen) {
        options.reopen_base = [base] { return io::open_file_source(base.string()); };
    }
    auto encoder = make_chunk_encoder(options);
    EXPECT_EQ(encoder->name(), "chunked");
    io::FileSource b(base.string());
    io::FileSource t(target.string());
    io::MemorySink sink;
    o.result = encoder->encode(b, t, sink);
    o.delta = sink.data();
    EXPECT_FALSE(sink.finished());
    return o;
}

// Decodes with the real xdelta3 and checks the rebuilt bytes and the reported SHA-256.
void expect_round_trip(const TempDir& dir, const std::filesystem::path& base,
                       const std::filesystem::path& target, const Outcome& o)
{
    test::write_file(dir / "delta.vcdiff", o.delta);
    const auto out = dir / "rebuilt";
    ASSERT_EQ(
        test::run("xdelta3 -d -f -s " + test::shell_quote(base.string()) + " " +
                  test::shell_quote((dir / "delta.vcdiff").string()) + " " + test::shell_quote(out.string())),
        0);
    EXPECT_EQ(test::sha256_hex_of_file(out), test::sha256_hex_of_file(target));
    EXPECT_EQ(io::to_hex(o.result.target_sha256), test::sha256_hex_of_file(target));
    EXPECT_EQ(o.result.target_bytes, std::filesystem::file_size(target));
    EXPECT_EQ(o.result.delta_bytes, o.delta.size());
    EXPECT_EQ(o.result.copied_bytes + o.result.literal_bytes, o.result.target_bytes);
}

// Files of mixed sizes with text-like content, reproducible.
void make_tree(const std::filesystem::path& root, std::uint32_t seed, int files)
{
    std::mt19937 rng(seed);
    for (int i = 0; i < files; ++i) {
        const auto sub = root / ("d" + std::to_string(i % 7));
        std::filesystem::create_directories(sub);
        const std::size_t size = (i % 5 == 0) ? 200000 + rng() % 400000 : rng() % 20000;
        test::write_file(sub / ("f" + std::to_string(i)),
                         test::make_data(size, seed * 1000 + static_cast<std::uint32_t>(i)));
    }
}

void tar_dir(const std::filesystem::path& dir, const std::filesystem::path& out)
{
    ASSERT_EQ(test::run("tar --sort=name --format=gnu -C " + test::shell_quote(dir.string()) + " -cf " +
                        test::shell_quote(out.string()) + " ."),
              0);
}

class ChunkEncoderModes : public ::testing::TestWithParam<IndexMode> {};

TEST_P(ChunkEncoderModes, TarWithInsertedEditedAndAppendedFiles)
{
    TempDir dir;
    const auto tree = dir / "tree";
    make_tree(tree, 1, 120);
    tar_dir(tree, dir / "full.tar");
    // An early inserted package, some files rewritten in place, a log appended to.
    make_tree(tree / "a-new-package", 2, 15);
    for (const int i : {3, 40, 77}) {
        const auto f = tree / ("d" + std::to_string(i % 7)) / ("f" + std::to_string(i));
        auto bytes = test::read_file(f);
        for (std::size_t p = bytes.size() / 3; p < bytes.size() && p < bytes.size() / 3 + 100; ++p) {
            bytes[p] ^= 0x55;
        }
        test::write_file(f, bytes);
    }
    {
        const auto log = tree / "d0" / "f0";
        auto bytes = test::read_file(log);
        const auto more = test::make_data(3000, 77);
        bytes.insert(bytes.end(), more.begin(), more.end());
        test::write_file(log, bytes);
    }
    tar_dir(tree, dir / "new.tar");
    const auto o = encode_files(dir / "full.tar", dir / "new.tar", GetParam());
    expect_round_trip(dir, dir / "full.tar", dir / "new.tar", o);
    std::uint64_t package = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(tree / "a-new-package")) {
        package += e.is_regular_file() ? e.file_size() : 0;
    }
    // The new package is mostly literal (fine matching finds some of its text-like
    // content in the full); the rest nearly all copies.
    EXPECT_GE(o.result.literal_bytes, package / 2);
    const std::uint64_t slack = GetParam() == IndexMode::built ? 600000 : 150000;
    EXPECT_LT(o.result.literal_bytes, package + slack)
        << "gap " << o.stats.gap_bytes << " fine " << o.stats.fine_copied_bytes;
}

TEST_P(ChunkEncoderModes, UnchangedReArchiveIsTiny)
{
    TempDir dir;
    make_tree(dir / "tree", 3, 80);
    tar_dir(dir / "tree", dir / "full.tar");
    tar_dir(dir / "tree", dir / "new.tar");
    const auto o = encode_files(dir / "full.tar", dir / "new.tar", GetParam());
    expect_round_trip(dir, dir / "full.tar", dir / "new.tar", o);
    EXPECT_LT(o.delta.size() * 100, std::filesystem::file_size(dir / "new.tar"));
    EXPECT_EQ(o.result.literal_bytes, 0U);
}

// The same file in several places: the index names its first place; re-archived
// unchanged, each copy should still come from its own place (one copy in order, a
// restore that never reads back), not jump back to the first.
TEST_P(ChunkEncoderModes, DuplicateContentIsCopiedFromItsOwnPlace)
{
    TempDir dir;
    make_tree(dir / "tree", 4, 40);
    const auto same = test::make_data(150000, 99);
    for (const char* d : {"d0", "d2", "d4", "d6"}) {
        test::write_file(dir / "tree" / d / "same-file", same);
    }
    tar_dir(dir / "tree", dir / "full.tar");
    tar_dir(dir / "tree", dir / "new.tar");
    const auto o = encode_files(dir / "full.tar", dir / "new.tar", GetParam());
    expect_round_trip(dir, dir / "full.tar", dir / "new.tar", o);
    // Copies from their own places merge into one per window: the window's own range.
    std::uint64_t windows = 0;
    std::uint64_t in_place = 0;
    std::uint64_t ranges = 0;
    io::MemorySource delta(o.delta, "<delta>");
    scan_vcdiff(delta, [&](const ScannedWindow& w) {
        ++windows;
        ranges += w.ranges.size();
        for (const SourceRange& r : w.ranges) {
            in_place += r == SourceRange{w.target_offset, w.target_length} ? 1 : 0;
        }
    });
    if (GetParam() == IndexMode::built) {
        // No second read of the full to confirm the other places: the first is used.
        EXPECT_EQ(o.stats.copies_in_order, 0U);
        EXPECT_GT(ranges, windows + 2);
    } else {
        EXPECT_GE(o.stats.copies_in_order, 3U);
        EXPECT_EQ(ranges, windows);
        EXPECT_EQ(in_place, windows);
    }
}

INSTANTIATE_TEST_SUITE_P(Index, ChunkEncoderModes,
                         ::testing::Values(IndexMode::stored, IndexMode::built, IndexMode::built_reopen));

TEST(ChunkEncoder, MovedBlocksFarApart)
{
    // 24 MiB base of 1 MiB blocks; the target shuffles them (far jumps both ways,
    // more than one window and beyond the source span limit of small windows),
    // changes one 4 KiB page in some and adds a new block.
    TempDir dir;
    const std::size_t block = 1 << 20;
    const auto base = test::make_data(24 * block, 31);
    std::vector<std::size_t> order(24);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(5));
    std::vector<std::uint8_t> target;
    for (const auto b : order) {
        const auto at = target.size();
        target.insert(target.end(), base.begin() + static_cast<std::ptrdiff_t>(b * block),
                      base.begin() + static_cast<std::ptrdiff_t>((b + 1) * block));
        if (b % 5 == 0) {
            for (std::size_t i = 0; i < 4096; ++i) {
                target[at + 300000 + i] ^= 0xA5;
            }
        }
    }
    const auto fresh = test::make_data(block, 32);
    target.insert(target.begin() + static_cast<std::ptrdiff_t>(5 * block), fresh.begin(), fresh.end());
    test::write_file(dir / "base", base);
    test::write_file(dir / "target", target);
    // Chunk lookups alone: the new block, the changed chunks, the chunks straddling
    // two moved blocks.
    const auto coarse = encode_files(dir / "base", dir / "target", IndexMode::built);
    expect_round_trip(dir, dir / "base", dir / "target", coarse);
    EXPECT_LT(coarse.result.literal_bytes, block + 5 * 2 * 128 * 1024 + 25 * 128 * 1024);
    EXPECT_EQ(coarse.stats.fine_copied_bytes, 0U);
    // With the full's old bytes, wherever they are, fine matching leaves little more
    // than the new block and the rewritten pages.
    const auto fine = encode_files(dir / "base", dir / "target", IndexMode::stored);
    expect_round_trip(dir, dir / "base", dir / "target", fine);
    EXPECT_LT(fine.result.literal_bytes, block + 5 * 4096 + 25 * 64) << fine.stats.gap_bytes;
    const auto built = encode_files(dir / "base", dir / "target", IndexMode::built_reopen);
    expect_round_trip(dir, dir / "base", dir / "target", built);
    EXPECT_EQ(built.result.literal_bytes, fine.result.literal_bytes);
}

TEST(ChunkEncoder, EmptyAndIdentical)
{
    TempDir dir;
    test::write_file(dir / "empty", {});
    test::write_file(dir / "data", test::make_data(3 << 20, 4));
    for (const auto mode : {IndexMode::stored, IndexMode::built_reopen}) {
        const auto same = encode_files(dir / "data", dir / "data", mode);
        expect_round_trip(dir, dir / "data", dir / "data", same);
        EXPECT_LT(same.delta.size(), 200U);
        const auto empty_target = encode_files(dir / "data", dir / "empty", mode);
        expect_round_trip(dir, dir / "data", dir / "empty", empty_target);
        const auto empty_base = encode_files(dir / "empty", dir / "data", mode);
        expect_round_trip(dir, dir / "empty", dir / "data", empty_base);
    }
}

// Progress: the read of the full reports its content bytes up to the full's size, then
// fine matching and writing report the new archive's bytes from 0 up to its size,
// never going back, and only after the read of the full has ended.
TEST(ChunkEncoder, ReportsTheReadOfTheFullThenTheWriting)
{
    TempDir dir;
    const std::size_t mib = 1 << 20;
    auto base = test::make_data(12 * mib, 41);
    auto target = base;
    for (std::size_t i = 0; i < 4096; ++i) {
        target[5 * mib + i] ^= 0x5A;  // a changed region: the full is read for it
    }
    test::write_file(dir / "base", base);
    test::write_file(dir / "target", target);
    io::FileSource full_for_index((dir / "base").string());
    ChunkEncoderOptions options;
    options.spill_dir = dir.path();
    options.index = std::make_shared<const ChunkIndex>(
        build_chunk_index(full_for_index, options.chunking, options.layout));
    std::vector<std::pair<std::uint64_t, std::uint64_t>> read;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> written;
    options.on_base_read = [&](std::uint64_t done, std::uint64_t total) {
        EXPECT_TRUE(written.empty()) << "the read of the full reported after the writing began";
        read.emplace_back(done, total);
    };
    options.on_write = [&](std::uint64_t done, std::uint64_t total) { written.emplace_back(done, total); };
    io::FileSource b((dir / "base").string());
    io::FileSource t((dir / "target").string());
    io::MemorySink sink;
    const auto result = make_chunk_encoder(options)->encode(b, t, sink);
    EXPECT_EQ(result.target_bytes, target.size());
    ASSERT_FALSE(read.empty());
    EXPECT_EQ(read.back(), std::make_pair(std::uint64_t{base.size()}, std::uint64_t{base.size()}));
    ASSERT_GE(written.size(), 3U);  // the start, steps of a MiB, the end
    EXPECT_EQ(written.front().first, 0U);
    EXPECT_EQ(written.back().first, target.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
        EXPECT_EQ(written[i].second, target.size());
        if (i > 0) {
            EXPECT_GE(written[i].first, written[i - 1].first);
        }
    }
}

TEST(ChunkEncoder, StaleIndexIsRejected)
{
    TempDir dir;
    test::write_file(dir / "a", test::make_data(1 << 20, 1));
    test::write_file(dir / "b", test::make_data(1 << 19, 2));
    ChunkEncoderOptions options;
    {
        io::FileSource a((dir / "a").string());
        options.index =
            std::make_shared<const ChunkIndex>(build_chunk_index(a, options.chunking, options.layout));
    }
    io::FileSource b((dir / "b").string());
    io::FileSource t((dir / "a").string());
    io::NullSink sink;
    EXPECT_THROW(make_chunk_encoder(options)->encode(b, t, sink), io::Error);
}

// A full whose bytes are not those its stored index was made from (same size): the
// copies the index finds there are hashed on the read of the full, and the proof
// records the hash that differs, so checking it refuses the delta. The full the index
// was made from passes.
TEST(ChunkEncoder, ProofRefusesCopiesFromAFullThatDiffersFromItsIndex)
{
    TempDir dir;
    constexpr std::size_t mib = 1024 * 1024;
    const auto original = test::make_data(4 * mib, 61);
    auto altered = original;
    for (std::size_t i = 2 * mib; i < 2 * mib + 4096; ++i) {
        altered[i] ^= 0x5a;
    }
    test::write_file(dir / "original", original);
    test::write_file(dir / "altered", altered);
    ChunkEncoderOptions options;
    options.spill_dir = dir.path();
    {
        io::FileSource full((dir / "original").string());
        build_chunk_index(full, options.chunking, options.layout).save((dir / "idx").string());
    }
    options.index = std::make_shared<const ChunkIndex>(ChunkIndex::load((dir / "idx").string()));
    for (const char* full : {"original", "altered"}) {
        CopyProof proof(dir.path(), ProofKey::random());
        options.proof = &proof;
        io::FileSource b((dir / full).string());
        io::FileSource t((dir / "original").string());
        io::MemorySink sink;
        make_chunk_encoder(options)->encode(b, t, sink);
        io::MemorySource written(sink.data(), "<delta>");
        if (std::string_view(full) == "original") {
            EXPECT_NO_THROW((void)check_proof(proof, written, original.size()));
        } else {
            EXPECT_THROW((void)check_proof(proof, written, original.size()), io::Error);
        }
    }
}

}  // namespace
}  // namespace pvediff::engine

namespace pvediff::engine {
namespace {

// Changed regions whose old bytes lie ahead in the full, each a little further than
// the one before: every step is within the restore horizon of where the copies in
// order have taken a restore, but together they would take it far beyond (a restore
// reads that far and keeps aside what later windows need on the way: 600 MiB of a
// 2 GiB tar). The horizon must not move forward with the pieces it lets in.
TEST(ChunkEncoder, RestoreHorizonDoesNotCreepForward)
{
    TempDir dir;
    constexpr std::size_t kib = 1024;
    const auto base = test::make_data(8192 * kib, 41);
    std::vector<std::uint8_t> target(base.begin(), base.begin() + 1024 * kib);
    const auto fresh = test::make_data(256 * kib, 42);
    for (std::size_t i = 0; i < 8; ++i) {
        // A changed region: new bytes, then 8 KiB (less than a chunk: only fine
        // matching finds them) from (1 + i) * 768 KiB further on in the full.
        target.insert(target.end(), fresh.begin() + static_cast<std::ptrdiff_t>(i * 16 * kib),
                      fresh.begin() + static_cast<std::ptrdiff_t>((i + 1) * 16 * kib));
        const std::size_t from = 1024 * kib + (i + 1) * 768 * kib;
        target.insert(target.end(), base.begin() + static_cast<std::ptrdiff_t>(from),
                      base.begin() + static_cast<std::ptrdiff_t>(from + 8 * kib));
        // Unchanged chunks between the regions, from behind: the restore is not
        // taken further by them.
        const std::size_t back = i * 96 * kib;
        target.insert(target.end(), base.begin() + static_cast<std::ptrdiff_t>(back),
                      base.begin() + static_cast<std::ptrdiff_t>(back + 256 * kib));
    }
    target.insert(target.end(), fresh.begin() + 128 * kib, fresh.end());
    test::write_file(dir / "base", base);
    test::write_file(dir / "target", target);

    ChunkEncodeStats stats;
    ChunkEncoderOptions options;
    options.stats = &stats;
    options.spill_dir = dir.path();
    options.restore_horizon = 1024 * kib;
    {
        io::FileSource full((dir / "base").string());
        build_chunk_index(full, options.chunking, options.layout).save((dir / "idx").string());
    }
    options.index = std::make_shared<const ChunkIndex>(ChunkIndex::load((dir / "idx").string()));
    auto encoder = make_chunk_encoder(options);
    io::FileSource b((dir / "base").string());
    io::FileSource t((dir / "target").string());
    io::MemorySink sink;
    encoder->encode(b, t, sink);
    // The furthest copy of each window: never beyond the copies in order (the first
    // 1 MiB, read in order) plus the horizon.
    std::uint64_t furthest = 0;
    io::MemorySource delta(sink.data(), "<delta>");
    scan_vcdiff(delta, [&](const ScannedWindow& w) {
        for (const SourceRange& r : w.ranges) {
            furthest = std::max(furthest, r.offset + r.length);
        }
    });
    EXPECT_GT(stats.fine_copied_bytes, 0U) << "the first pieces within the horizon are found";
    EXPECT_GT(stats.beyond_horizon, 0U);
    EXPECT_LE(furthest, 1024 * kib + options.restore_horizon)
        << "fine " << stats.fine_copied_bytes << " beyond " << stats.beyond_horizon << " snippets "
        << stats.snippet_ranges;
}

// A run of chunk copies far ahead of where the copies in order have taken a restore:
// whether it is kept (far_copy_ratio), how far the delta makes a restore read, and
// that the delta, proven, rebuilds the new archive with stock xdelta3.
struct FarRun {
    Outcome outcome;
    std::uint64_t furthest = 0;  // the furthest byte of the full the delta reads
};

FarRun encode_far_run(const TempDir& dir, const std::vector<std::uint8_t>& base,
                      const std::vector<std::uint8_t>& target, std::uint64_t horizon, std::uint64_t ratio)
{
    test::write_file(dir / "base", base);
    test::write_file(dir / "target", target);
    FarRun run;
    ChunkEncoderOptions options;
    options.stats = &run.outcome.stats;
    options.spill_dir = dir.path();
    options.restore_horizon = horizon;
    options.far_copy_ratio = ratio;
    {
        io::FileSource full((dir / "base").string());
        build_chunk_index(full, options.chunking, options.layout).save((dir / "idx").string());
    }
    options.index = std::make_shared<const ChunkIndex>(ChunkIndex::load((dir / "idx").string()));
    CopyProof proof(dir.path(), ProofKey::random());
    options.proof = &proof;
    auto encoder = make_chunk_encoder(options);
    io::FileSource b((dir / "base").string());
    io::FileSource t((dir / "target").string());
    io::MemorySink sink;
    run.outcome.result = encoder->encode(b, t, sink);
    run.outcome.delta = sink.data();
    io::MemorySource written(run.outcome.delta, "<delta>");
    EXPECT_NO_THROW((void)check_proof(proof, written, target.size()));
    io::MemorySource delta(run.outcome.delta, "<delta>");
    scan_vcdiff(delta, [&](const ScannedWindow& w) {
        for (const SourceRange& r : w.ranges) {
            run.furthest = std::max(run.furthest, r.offset + r.length);
        }
    });
    expect_round_trip(dir, dir / "base", dir / "target", run.outcome);
    return run;
}

// 48 KiB of the full found 6 MiB ahead of the copies in order (the same bytes in
// another file, at the end of a 32 GiB tar): worth less than 1/64 of the distance, so
// written as literals; a restore reads the full in order. (As a copy, a 32 GiB restore
// read 8.8 GiB ahead for 33 KB and set aside 8.6 GiB on the way.)
TEST(ChunkEncoder, AFarSmallCopyIsWrittenAsLiterals)
{
    TempDir dir;
    constexpr std::size_t mib = 1024 * 1024;
    const auto base = test::make_data(8 * mib, 51);
    std::vector<std::uint8_t> target(base.begin(), base.begin() + mib);
    target.insert(target.end(), base.begin() + 7 * mib, base.begin() + 7 * mib + 48 * 1024);
    target.insert(target.end(), base.begin() + mib, base.begin() + 3 * mib);
    const FarRun run = encode_far_run(dir, base, target, mib, 64);
    EXPECT_GT(run.outcome.stats.far_copy_bytes, 16U * 1024);
    EXPECT_LE(run.furthest, 3 * mib + mib) << "far copies " << run.outcome.stats.far_copy_bytes;
    // With every copy kept, as before: the restore is taken 7 MiB in at once.
    TempDir all;
    EXPECT_GT(encode_far_run(all, base, target, mib, 0).furthest, 7 * mib);
}

// A whole file moved from the end to the front: 2 MiB copied, worth the 8 MiB a
// restore reads ahead for it (more than 1/64). It stays copied.
TEST(ChunkEncoder, AFarMovedFileStaysCopied)
{
    TempDir dir;
    constexpr std::size_t mib = 1024 * 1024;
    const auto base = test::make_data(8 * mib, 52);
    std::vector<std::uint8_t> target(base.begin() + 6 * mib, base.end());
    target.insert(target.end(), base.begin(), base.begin() + 6 * mib);
    const FarRun run = encode_far_run(dir, base, target, mib, 64);
    EXPECT_EQ(run.outcome.stats.far_copy_bytes, 0U);
    EXPECT_LT(run.outcome.result.literal_bytes, 64U * 1024);
}

// The full's chunk that begins at or after `offset` (generic chunking, as the index).
Chunk chunk_from(const std::vector<std::uint8_t>& data, std::uint64_t offset)
{
    std::optional<Chunk> found;
    Chunker chunker(ChunkParams{}, nullptr, [&](const Chunk& c, std::span<const std::uint8_t>) {
        if (!found && c.offset >= offset) {
            found = c;
        }
    });
    chunker.feed(data);
    chunker.finish();
    return found.value();
}

// The full up to the chunk `cut`, the chunk `far`, then the full from `cut` to `end`.
std::vector<std::uint8_t> with_far_chunk(const std::vector<std::uint8_t>& base, const Chunk& cut,
                                         const Chunk& far, std::uint64_t end)
{
    auto at = [&](std::uint64_t offset) { return base.begin() + static_cast<std::ptrdiff_t>(offset); };
    std::vector<std::uint8_t> target(at(0), at(cut.offset));
    target.insert(target.end(), at(far.offset), at(far.offset + far.length));
    target.insert(target.end(), at(cut.offset), at(end));
    return target;
}

// One whole chunk of the full 32 MiB ahead (a small file with the same content as
// one at the end of a 32 GiB tar), between two chunks of the copies in order. With
// no changed bytes between, the index guesses the next chunks to follow it there (a
// repeated file), and the read of the full proves the guesses wrong. The far chunk is
// still not worth reading ahead for, and the copies stay in order. (Taken for copies
// made far ahead, the guesses kept it: the 32 GiB row's restore set aside 8.6 GiB.)
TEST(ChunkEncoder, WrongGuessesAfterAFarChunkDoNotKeepIt)
{
    TempDir dir;
    constexpr std::size_t mib = 1024 * 1024;
    const auto base = test::make_data(64 * mib, 53);
    const Chunk far = chunk_from(base, 40 * mib);
    const FarRun run =
        encode_far_run(dir, base, with_far_chunk(base, chunk_from(base, 8 * mib), far, 16 * mib), mib, 64);
    EXPECT_EQ(run.outcome.stats.far_copy_bytes, far.length);
    EXPECT_LE(run.furthest, 16 * mib) << "far copies " << run.outcome.stats.far_copy_bytes;
}

// As above, but the guesses are right: the full repeats, right after the far chunk,
// the 1 MiB that follows it in the new archive. Both places hold those bytes; the
// copies are taken from the one in order, the far chunk written as literals.
TEST(ChunkEncoder, RightGuessesFarAheadAreTakenInOrder)
{
    TempDir dir;
    constexpr std::size_t mib = 1024 * 1024;
    auto base = test::make_data(64 * mib, 54);
    const Chunk cut = chunk_from(base, 8 * mib);
    const Chunk far = chunk_from(base, 40 * mib);
    // Bytes after a chunk do not move its boundaries.
    std::copy_n(base.begin() + static_cast<std::ptrdiff_t>(cut.offset), mib,
                base.begin() + static_cast<std::ptrdiff_t>(far.offset + far.length));
    const FarRun run = encode_far_run(dir, base, with_far_chunk(base, cut, far, 16 * mib), mib, 64);
    EXPECT_EQ(run.outcome.stats.far_copy_bytes, far.length);
    EXPECT_LE(run.furthest, 16 * mib) << "far copies " << run.outcome.stats.far_copy_bytes;
    EXPECT_LT(run.outcome.result.literal_bytes, 256U * 1024);
}

}  // namespace
}  // namespace pvediff::engine
