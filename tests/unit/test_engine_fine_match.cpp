// SPDX-License-Identifier: GPL-2.0-or-later
// Byte-level matching of a changed region against pieces of the full (FineMatcher).
#include <gtest/gtest.h>

#include <algorithm>

#include "fine_match.h"
#include "pvediff/engine/vcdiff_scan.h"
#include "pvediff/engine/vcdiff_writer.h"
#include "pvediff/io/byte_stream.h"
#include "test_util.h"

namespace pvediff::engine::detail {
namespace {

// The source ranges the delta's windows copy from.
std::vector<SourceRange> ranges_read(const std::vector<std::uint8_t>& delta)
{
    io::MemorySource source(delta);
    std::vector<SourceRange> out;
    scan_vcdiff(source,
                [&](const ScannedWindow& w) { out.insert(out.end(), w.ranges.begin(), w.ranges.end()); });
    return out;
}

// A tar-like full: the same 512-byte header twice, the second between the file
// before it and its own file. The new archive has those three with a new mtime in the
// header. After the changed bytes, the rest of the header is copied from where the
// copy before them would go on, not from the first occurrence of the same bytes, far
// away (the table keeps first occurrences).
TEST(FineMatcher, ChangedBytesDoNotSendTheCopyElsewhere)
{
    const auto header = test::make_data(512, 41);
    const auto file = test::make_data(20000, 42);
    const auto filler = test::make_data(30000, 43);
    const auto file_before = test::make_data(3000, 44);
    std::vector<std::uint8_t> base(header);
    base.insert(base.end(), filler.begin(), filler.end());
    const std::size_t own_place = base.size();
    base.insert(base.end(), file_before.begin(), file_before.end());
    base.insert(base.end(), header.begin(), header.end());
    base.insert(base.end(), file.begin(), file.end());

    std::vector<std::uint8_t> target(file_before);
    target.insert(target.end(), header.begin(), header.end());
    std::fill_n(target.begin() + static_cast<std::ptrdiff_t>(file_before.size() + 142), 12,
                std::uint8_t{'7'});  // the mtime field
    target.insert(target.end(), file.begin(), file.end());

    FineMatcher matcher;
    matcher.add_base(base, 1000000);
    io::MemorySink sink;
    VcdiffWriter writer(sink);
    matcher.encode(target, writer);
    writer.finish();
    EXPECT_EQ(writer.stats().literal_bytes, 12U);
    EXPECT_EQ(writer.stats().copied_bytes, target.size() - 12);
    const auto ranges = ranges_read(sink.data());
    ASSERT_FALSE(ranges.empty());
    for (const auto& r : ranges) {
        EXPECT_GE(r.offset, 1000000 + own_place) << "a copy from the first header, " << r.offset;
    }
}

// A block that begins with 13,000 zeros, moved: its own place in the full holds them
// (the full's run begins 2,000 bytes before the block), but a short zero run
// elsewhere (348 bytes, in a piece added first) hashes the same, and the table keeps
// the first occurrence; a longer run lies elsewhere too. The whole run must come from
// its own place, on the diagonal of the block's bytes after it: one copy, not 38 of
// the short run, nor one from the longest run and another for the block (a shuffled
// disk, issue 17).
TEST(FineMatcher, LongRunOfOneByteIsCopiedFromItsOwnPlace)
{
    const auto noise = test::make_data(5000, 51);
    const auto block = test::make_data(20000, 52);
    std::vector<std::uint8_t> short_run(noise);
    short_run.insert(short_run.end(), 348, 0);
    short_run.insert(short_run.end(), noise.begin(), noise.end());
    std::vector<std::uint8_t> long_run(noise.begin(), noise.begin() + 1000);
    long_run.insert(long_run.end(), 30000, 0);
    long_run.insert(long_run.end(), noise.begin() + 1000, noise.end());
    std::vector<std::uint8_t> own(noise.begin(), noise.begin() + 3001);
    own.insert(own.end(), 15000, 0);
    const std::size_t block_at = own.size();
    own.insert(own.end(), block.begin(), block.end());

    std::vector<std::uint8_t> target(13000, 0);
    target.insert(target.end(), block.begin(), block.begin() + 8000);

    FineMatcher matcher;
    matcher.add_base(short_run, 0);
    matcher.add_base(long_run, 20000);
    matcher.add_base(own, 100000);
    io::MemorySink sink;
    VcdiffWriter writer(sink);
    matcher.encode(target, writer);
    writer.finish();
    EXPECT_EQ(writer.stats().literal_bytes, 0U);
    const auto ranges = ranges_read(sink.data());
    ASSERT_EQ(ranges.size(), 1U);
    EXPECT_EQ(ranges[0].offset, 100000 + block_at - 13000);
    EXPECT_EQ(ranges[0].length, target.size());
}

// The region ends inside a zero run whose rest, and the block after it, are copies
// planned by chunks: the region's zeros must come from just before where that next
// copy begins (so the two merge), not from the longer zero run elsewhere.
TEST(FineMatcher, RunAtTheEndGoesBeforeTheNextCopy)
{
    const auto noise = test::make_data(6000, 61);
    FineMatchJob job;
    std::vector<std::uint8_t> long_run(40000, 0);
    job.add_base(long_run, 0);
    std::vector<std::uint8_t> own(noise.begin(), noise.begin() + 2003);
    own.insert(own.end(), 9000, 0);
    job.add_base(own, 500000);
    job.next_copy_at = 500000 + own.size();
    job.target.assign(noise.begin() + 3000, noise.begin() + 4000);  // literal: not in the pieces
    job.target.insert(job.target.end(), 5000, 0);

    FineMatcher matcher;
    matcher.match(job);
    ASSERT_EQ(job.instructions.size(), 2U);
    EXPECT_FALSE(job.instructions[0].copy);
    EXPECT_TRUE(job.instructions[1].copy);
    EXPECT_EQ(job.instructions[1].length, 5000U);
    EXPECT_EQ(job.instructions[1].full_offset, *job.next_copy_at - 5000);
}

}  // namespace
}  // namespace pvediff::engine::detail
