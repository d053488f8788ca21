// SPDX-License-Identifier: GPL-2.0-or-later
// The one read of the full (BaseCapture) and what looks at it on the way: the block
// scan and the snippet scan. Their results must not depend on how the full's stream
// happens to be cut into pieces, and what they ask for from inside the read must
// still be kept.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "base_capture.h"
#include "block_scan.h"
#include "gear.h"
#include "pvediff/io/byte_stream.h"
#include "snippet_scan.h"
#include "test_util.h"

namespace pvediff::engine::detail {
namespace {

// Hands out its data in pieces of pseudo-random sizes between 1 and max_piece.
class PiecewiseSource final : public io::ByteSource {
public:
    PiecewiseSource(const std::vector<std::uint8_t>& data, std::size_t max_piece, std::uint32_t seed)
        : data_(data), rng_(seed), size_(1, max_piece)
    {
    }
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = std::min({buf.size(), data_.size() - pos_, size_(rng_)});
        std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos_), n, buf.begin());
        pos_ += n;
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return name_; }

private:
    const std::vector<std::uint8_t>& data_;
    std::size_t pos_ = 0;
    std::mt19937 rng_;
    std::uniform_int_distribution<std::size_t> size_;
    std::string name_ = "<pieces>";
};

std::vector<std::uint8_t> slice(const std::vector<std::uint8_t>& v, std::size_t at, std::size_t n)
{
    return {v.begin() + static_cast<std::ptrdiff_t>(at), v.begin() + static_cast<std::ptrdiff_t>(at + n)};
}

TEST(BlockScan, FindsBlocksWhateverThePieces)
{
    const auto full = test::make_data(3 << 20, 31);
    // Whole blocks at 512-byte positions, two of them within 4 KiB of each other.
    const std::vector<std::size_t> places{4096 * 3 + 512, 1000448, 1003520, (3 << 20) - 4096};
    for (const std::size_t max_piece : {std::size_t{1} << 20, std::size_t{5000}, std::size_t{700}}) {
        test::TempDir dir;
        BlockScan scan(dir.path());
        for (std::size_t i = 0; i < places.size(); ++i) {
            scan.want(slice(full, places[i], BlockScan::block), i + 1);
        }
        PiecewiseSource source(full, max_piece, 7);
        BaseCapture capture(dir.path());
        capture.read_all(source,
                         [&](std::uint64_t pos, std::span<const std::uint8_t> b) { scan.feed(pos, b); });
        EXPECT_EQ(scan.found_blocks(), places.size()) << "pieces up to " << max_piece;
        for (std::size_t i = 0; i < places.size(); ++i) {
            const auto& found = scan.found(i + 1);
            ASSERT_EQ(found.size(), 1U) << "block at " << places[i] << ", pieces up to " << max_piece;
            EXPECT_EQ(found[0].full_offset, places[i]);
            std::vector<std::uint8_t> bytes;
            scan.read(found[0], bytes);
            EXPECT_EQ(bytes, slice(full, places[i], BlockScan::block));
        }
    }
}

TEST(BaseCapture, RangesAskedDuringTheReadAreKeptUpToAPieceBack)
{
    const auto full = test::make_data(3 << 20, 32);
    test::TempDir dir;
    io::MemorySource source(full);  // pieces of 1 MiB
    BaseCapture capture(dir.path());
    const auto before = capture.request(100, 200);
    std::optional<BaseCapture::Ticket> late;
    std::optional<BaseCapture::Ticket> too_late;
    bool extended = false;
    bool extended_after_end = true;
    capture.read_all(source, [&](std::uint64_t pos, std::span<const std::uint8_t>) {
        if (pos == 2 << 20) {
            // The previous piece has not been kept yet; the one before has.
            late = capture.request((1 << 20) + 10, (2 << 20) + 20);
            too_late = capture.request(50, (1 << 20) + 30);
            extended = capture.extend(*late, (2 << 20) + 4000);
            extended_after_end = capture.extend(before, 300);
        }
    });
    std::vector<std::uint8_t> out;
    EXPECT_EQ(capture.take(before, out), 100U);
    EXPECT_EQ(out, slice(full, 100, 100));
    ASSERT_TRUE(late);
    EXPECT_TRUE(extended);
    EXPECT_FALSE(extended_after_end) << "bytes 200..300 had gone by";
    EXPECT_EQ(capture.take(*late, out), (1U << 20) + 10);
    EXPECT_EQ(out, slice(full, (1 << 20) + 10, (1 << 20) + 3990));
    EXPECT_EQ(capture.take(*too_late, out), 1U << 20) << "starts where the kept bytes end";
    EXPECT_EQ(out, slice(full, 1 << 20, 30));
}

// A VM's VMA asks for thousands of ranges per GiB before the read: more than one run
// of the sort, so they wait on scratch disk, in any order and overlapping; some are
// extended before the read reaches them, others while it passes them; one is empty.
TEST(BaseCapture, ManyRangesAskedBeforeTheReadWaitOnScratchDisk)
{
    const auto full = test::make_data(4 << 20, 35);
    test::TempDir dir;
    PiecewiseSource source(full, 200000, 36);
    BaseCapture capture(dir.path());
    std::mt19937 rng(37);
    struct Asked {
        BaseCapture::Ticket ticket;
        std::uint64_t lo;
        std::uint64_t hi;
    };
    std::vector<Asked> asked;
    constexpr std::size_t count = 300000;  // > 256 Ki records in a run
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t len = i == 17 ? 0 : 1 + rng() % 300;
        const std::uint64_t lo = rng() % (full.size() - 2 * len - 1);
        asked.push_back({capture.request(lo, lo + len), lo, lo + len});
        if (i % 1000 == 1) {  // extended before the read
            asked.back().hi += len;
            ASSERT_TRUE(capture.extend(asked.back().ticket, asked.back().hi));
        }
    }
    // One the read is halfway through when it is extended.
    Asked& passing = asked[5];
    passing = {capture.request(1 << 20, (1 << 20) + 600000), 1 << 20, (1 << 20) + 600000};
    bool extended = false;
    capture.read_all(source, [&](std::uint64_t, std::span<const std::uint8_t>) {
        if (!extended && capture.kept_to() > passing.lo && capture.kept_to() < passing.hi) {
            passing.hi += 4000;
            extended = capture.extend(passing.ticket, passing.hi);
        }
    });
    EXPECT_TRUE(extended);
    std::vector<std::uint8_t> out;
    for (const Asked& a : asked) {
        ASSERT_EQ(capture.take(a.ticket, out), a.lo) << a.ticket;
        ASSERT_EQ(out, slice(full, a.lo, a.hi - a.lo)) << a.ticket;
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the scratch files have no names
}

// A piece of the full copied to another place, at no particular alignment, as when a
// file inside an archive in the guest is unpacked.
TEST(SnippetScan, FindsBytesAtAnyAlignment)
{
    const auto full = test::make_data(4 << 20, 33);
    constexpr std::size_t at = 1234567;
    constexpr std::size_t length = 20000;
    auto region = slice(full, at, length);
    const auto stranger = test::make_data(length, 34);  // nowhere in the full
    for (const std::size_t max_piece : {std::size_t{1} << 20, std::size_t{3000}}) {
        test::TempDir dir;
        BaseCapture capture(dir.path());
        SnippetScan snippets(capture);
        snippets.want(region, 1, {});
        snippets.want(stranger, 2, {});
        const std::vector<SnippetScan::Range> known{{at - 100, at + length + 100}};
        snippets.want(region, 3, known);  // its place is asked for already
        PiecewiseSource source(full, max_piece, 9);
        capture.read_all(source,
                         [&](std::uint64_t pos, std::span<const std::uint8_t> b) { snippets.feed(pos, b); });

        const auto tickets = snippets.tickets(1);
        ASSERT_EQ(tickets.size(), 1U) << "pieces up to " << max_piece;
        std::vector<std::uint8_t> out;
        const std::uint64_t start = capture.take(tickets[0], out);
        // The range reaches back from the first hits, as far as the capture still
        // has: a whole piece of 1 MiB, less when the pieces are small.
        EXPECT_LE(start, max_piece > length ? at + 64 : at + length / 2) << "pieces up to " << max_piece;
        EXPECT_GE(start + out.size(), at + length);
        EXPECT_LE(out.size(), length + 2 * SnippetScan::reach);
        EXPECT_TRUE(std::equal(out.begin(), out.end(), full.begin() + static_cast<std::ptrdiff_t>(start)));
        EXPECT_TRUE(snippets.tickets(2).empty());
        EXPECT_TRUE(snippets.tickets(3).empty());
        EXPECT_EQ(snippets.ranges_asked(), 1U);
    }
}

// 64 bytes whose repetition has snippet points (not every pattern has: found by trying).
std::vector<std::uint8_t> pattern_with_points()
{
    for (std::uint32_t seed = 1;; ++seed) {
        const auto pattern = test::make_data(64, seed);
        std::uint64_t g = 0;
        for (std::size_t i = 0; i < 3 * pattern.size(); ++i) {
            g = (g << 1) + gear_table[pattern[i % pattern.size()]];
            if (i >= SnippetScan::window && (g >> SnippetScan::point_shift) == 0) {
                return pattern;
            }
        }
    }
}

// Repetitive content has its points at every repetition, in the region and all over
// the full: it must not ask for more than the region's budget.
TEST(SnippetScan, RepetitiveContentAsksLittle)
{
    const auto pattern = pattern_with_points();
    std::vector<std::uint8_t> full(2 << 20);
    std::vector<std::uint8_t> region(10000);
    for (std::size_t i = 0; i < full.size(); ++i) {
        full[i] = pattern[i % pattern.size()];
        if (i < region.size()) {
            region[i] = pattern[(i + 5) % pattern.size()];
        }
    }
    test::TempDir dir;
    BaseCapture capture(dir.path());
    SnippetScan snippets(capture);
    snippets.want(region, 1, {});
    io::MemorySource source(full);
    capture.read_all(source,
                     [&](std::uint64_t pos, std::span<const std::uint8_t> b) { snippets.feed(pos, b); });
    std::uint64_t asked = 0;
    std::vector<std::uint8_t> out;
    for (const auto t : snippets.tickets(1)) {
        capture.take(t, out);
        asked += out.size();
    }
    EXPECT_LE(snippets.tickets(1).size(), SnippetScan::min_ranges);
    EXPECT_GT(asked, 0U);
    EXPECT_LE(asked, SnippetScan::budget_factor * region.size() + 2 * SnippetScan::reach);
}

}  // namespace
}  // namespace pvediff::engine::detail
