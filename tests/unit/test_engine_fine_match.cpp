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

}  // namespace
}  // namespace pvediff::engine::detail
