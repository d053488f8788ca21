// SPDX-License-Identifier: GPL-2.0-or-later
// The VCDIFF scanner: exact COPY ranges on hand-made and stock-xdelta3 windows, coarse
// ranges for secondary compression, and clean errors for every truncation.
#include <gtest/gtest.h>

#include <optional>

#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/engine/vcdiff_scan.h"
#include "pvediff/io/error.h"
#include "test_engine_delta_helpers.h"

namespace pvediff::engine {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Default code table indices (RFC 3284, 5.6).
std::uint8_t add_op(std::uint8_t size)
{
    return static_cast<std::uint8_t>(1 + size);
}  // size 0..17
std::uint8_t copy_op(std::uint8_t mode, std::uint8_t size)  // size 0 or 4..18
{
    return static_cast<std::uint8_t>(19 + mode * 16 + (size == 0 ? 0 : size - 3));
}

Bytes file_header()
{
    return {vcdiff::magic.begin(), vcdiff::magic.end()};
}

struct WindowSpec {
    std::optional<std::pair<std::uint64_t, std::uint64_t>> segment;  // length, offset
    std::uint64_t target_length = 0;
    Bytes data, inst, addr;
    std::uint8_t delta_indicator = 0;
    std::optional<std::uint32_t> adler;
};

void append_window(Bytes& out, const WindowSpec& w)
{
    std::uint8_t ind = w.segment ? vcdiff::win_source : 0;
    if (w.adler) {
        ind |= vcdiff::win_adler32;
    }
    out.push_back(ind);
    if (w.segment) {
        vcdiff::put_varint(out, w.segment->first);
        vcdiff::put_varint(out, w.segment->second);
    }
    const std::uint64_t enc = vcdiff::varint_size(w.target_length) + 1 + vcdiff::varint_size(w.data.size()) +
                              vcdiff::varint_size(w.inst.size()) + vcdiff::varint_size(w.addr.size()) +
                              (w.adler ? 4 : 0) + w.data.size() + w.inst.size() + w.addr.size();
    vcdiff::put_varint(out, enc);
    vcdiff::put_varint(out, w.target_length);
    out.push_back(w.delta_indicator);
    vcdiff::put_varint(out, w.data.size());
    vcdiff::put_varint(out, w.inst.size());
    vcdiff::put_varint(out, w.addr.size());
    if (w.adler) {
        for (int s = 24; s >= 0; s -= 8) {
            out.push_back(static_cast<std::uint8_t>(*w.adler >> s));
        }
    }
    out.insert(out.end(), w.data.begin(), w.data.end());
    out.insert(out.end(), w.inst.begin(), w.inst.end());
    out.insert(out.end(), w.addr.begin(), w.addr.end());
}

// Window 0: ADD 10, COPY 20 from segment offset 5, COPY 6 from offset 15 (overlaps).
// Window 1: COPY 8 from segment offset 50, COPY 8 of its own target, ADD 4.
Bytes hand_made(std::vector<std::uint64_t>* window_ends = nullptr)
{
    Bytes f = file_header();
    f.push_back(0);
    if (window_ends) {
        window_ends->push_back(f.size());
    }
    WindowSpec w0;
    w0.segment = {{100, 1000}};
    w0.target_length = 36;
    w0.data = Bytes(10, 'a');
    w0.inst = {add_op(10), copy_op(0, 0), 20, copy_op(0, 6)};
    w0.addr = {5, 15};
    append_window(f, w0);
    if (window_ends) {
        window_ends->push_back(f.size());
    }
    WindowSpec w1;
    w1.segment = {{64, 4000}};
    w1.target_length = 20;
    w1.data = Bytes(4, 'b');
    w1.inst = {copy_op(0, 8), copy_op(0, 8), add_op(4)};
    w1.addr = {50, 64};  // the second: own target, at segment length + 0
    w1.adler = 0x12345678;
    append_window(f, w1);
    if (window_ends) {
        window_ends->push_back(f.size());
    }
    return f;
}

std::vector<ScannedWindow> scan_all(const Bytes& delta, ScanSummary* summary = nullptr)
{
    io::MemorySource src(delta, "<delta>");
    std::vector<ScannedWindow> out;
    const ScanSummary s = scan_vcdiff(src, [&out](const ScannedWindow& w) { out.push_back(w); });
    if (summary) {
        *summary = s;
    }
    return out;
}

TEST(VcdiffScan, HandMadeWindowsGiveExactRanges)
{
    ScanSummary summary;
    const auto windows = scan_all(hand_made(), &summary);
    ASSERT_EQ(windows.size(), 2u);
    EXPECT_FALSE(windows[0].coarse);
    EXPECT_EQ(windows[0].segment_offset, 1000u);
    EXPECT_EQ(windows[0].target_length, 36u);
    EXPECT_EQ(windows[0].ranges, (std::vector<SourceRange>{{1005, 20}}));
    EXPECT_FALSE(windows[0].adler32.has_value());
    EXPECT_EQ(windows[1].ranges, (std::vector<SourceRange>{{4050, 8}}));
    EXPECT_EQ(windows[1].target_offset, 36u);
    EXPECT_EQ(windows[1].adler32, 0x12345678u);
    EXPECT_EQ(summary.target_bytes, 56u);
    EXPECT_EQ(summary.source_end, 4058u);
}

TEST(VcdiffScan, EveryTruncationEndsCleanly)
{
    std::vector<std::uint64_t> ends;
    const Bytes full = hand_made(&ends);
    for (std::size_t cut = 0; cut < full.size(); ++cut) {
        const Bytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
        const bool at_boundary = std::find(ends.begin(), ends.end(), cut) != ends.end();
        if (at_boundary) {
            EXPECT_NO_THROW(scan_all(part)) << cut;
        } else {
            try {
                scan_all(part);
                ADD_FAILURE() << "no error for a cut at " << cut;
            } catch (const io::Error& e) {
                EXPECT_NE(std::string(e.what()).find("<delta>"), std::string::npos) << e.what();
                EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos) << e.what();
            }
        }
    }
}

TEST(VcdiffScan, RejectsBadWindows)
{
    auto expect_error = [](const WindowSpec& w, const std::string& what) {
        Bytes f = file_header();
        f.push_back(0);
        append_window(f, w);
        try {
            scan_all(f);
            ADD_FAILURE() << "accepted: " << what;
        } catch (const io::Error& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    WindowSpec w;
    w.segment = {{100, 0}};
    w.target_length = 20;
    w.inst = {copy_op(0, 0), 20};
    w.addr = {90};  // 90 + 20 > 100
    expect_error(w, "crosses the end of the source segment");
    w.addr = {vcdiff::mode_self};
    w.inst = {copy_op(1, 0), 20};  // VCD_HERE: 100 - 101
    w.addr = {101};
    expect_error(w, "invalid copy address");
    w.inst = {copy_op(0, 0), 10};
    w.addr = {5};
    expect_error(w, "do not fill the target window");
    w.inst = {copy_op(0, 0), 20};
    w.addr = {120};  // target address not yet written
    expect_error(w, "beyond the current position");
    WindowSpec big;
    big.target_length = (std::uint64_t{1} << 24) + 1;
    expect_error(big, "larger than 16 MiB");
    WindowSpec lonely;
    lonely.target_length = 3;
    lonely.data = {1, 2, 3};
    lonely.inst = {add_op(3)};
    lonely.delta_indicator = vcdiff::del_instcomp;
    expect_error(lonely, "without a secondary compressor");
}

TEST(VcdiffScan, SectionsAreBoundedByTheTargetWindow)
{
    const auto scan_one = [](const WindowSpec& w, bool secondary = false) {
        Bytes f = file_header();
        if (secondary) {
            f.push_back(vcdiff::hdr_secondary);
            f.push_back(1);  // DJW
        } else {
            f.push_back(0);
        }
        append_window(f, w);
        return scan_all(f);
    };
    const auto expect_error = [&](const WindowSpec& w, const std::string& what, bool secondary = false) {
        try {
            scan_one(w, secondary);
            ADD_FAILURE() << "accepted: " << what;
        } catch (const io::Error& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    // Empty instructions would let a 1-byte window carry any number of them.
    WindowSpec empty;
    empty.target_length = 1;
    empty.data = {7};
    empty.inst = {add_op(0), 0, add_op(1)};
    expect_error(empty, "empty instruction");
    // An instruction section far longer than a 100-byte window can need.
    WindowSpec padded;
    padded.target_length = 100;
    padded.data = Bytes(100, 1);
    padded.inst = Bytes(300, add_op(1));
    expect_error(padded, "sections larger than a target window of 100 bytes");
    // A compressed data section declaring (in its first varint) a plain size of 1 GiB.
    WindowSpec bomb;
    bomb.segment = {{1000, 0}};
    bomb.target_length = 10;
    bomb.data = {0x84, 0x80, 0x80, 0x80, 0};
    bomb.inst = {copy_op(0, 0), 10};
    bomb.addr = {0};
    bomb.delta_indicator = vcdiff::del_datacomp;
    expect_error(bomb, "compressed data section too large", true);
    // Within the bounds: accepted, literal bytes counted.
    WindowSpec fine;
    fine.segment = {{1000, 0}};
    fine.target_length = 30;
    fine.data = Bytes(10, 3);
    fine.inst = {add_op(10), copy_op(0, 0), 20};
    fine.addr = {100};
    const auto windows = scan_one(fine);
    ASSERT_EQ(windows.size(), 1u);
    EXPECT_EQ(windows[0].added_bytes, 10u);
    EXPECT_EQ(windows[0].ranges, (std::vector<SourceRange>{{100, 20}}));
}

TEST(VcdiffScan, NotVcdiff)
{
    const Bytes junk = {'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    EXPECT_THROW(scan_all(junk), io::Error);
    EXPECT_THROW(scan_all({}), io::Error);
}

// Keeps only the scanned ranges of the full: stock xdelta3 must still rebuild the
// target from it, which proves the ranges cover everything the windows read.
Bytes mask_to_ranges(const Bytes& base, const std::vector<ScannedWindow>& windows)
{
    Bytes masked(base.size(), 0xEE);
    for (const auto& w : windows) {
        for (const auto& r : w.ranges) {
            std::copy_n(base.begin() + static_cast<std::ptrdiff_t>(r.offset), r.length,
                        masked.begin() + static_cast<std::ptrdiff_t>(r.offset));
        }
    }
    return masked;
}

TEST(VcdiffScan, StockPlainDeltaRangesAreExact)
{
    test::TempDir dir;
    const Bytes base = test::make_data(3 << 20, 7);
    const Bytes target = test_delta::shuffled(base, 40000, 3);
    const Bytes delta = test_delta::stock_encode(dir, base, target, "-S none -B 4194304 -W 524288");
    ScanSummary summary;
    const auto windows = scan_all(delta, &summary);
    EXPECT_GT(windows.size(), 4u);
    EXPECT_EQ(summary.coarse_windows, 0u);
    EXPECT_EQ(summary.target_bytes, target.size());
    EXPECT_TRUE(summary.header.secondary_id == std::nullopt);
    std::uint64_t covered = 0;
    for (const auto& w : windows) {
        for (const auto& r : w.ranges) {
            EXPECT_GE(r.offset, w.segment_offset);
            EXPECT_LE(r.offset + r.length, w.segment_offset + w.segment_length);
            covered += r.length;
        }
    }
    EXPECT_GT(covered, target.size() / 2);
    EXPECT_EQ(test_delta::stock_decode(dir, mask_to_ranges(base, windows), delta), target);
}

TEST(VcdiffScan, SecondaryCompressionIsCoarse)
{
    test::TempDir dir;
    const Bytes base = test::make_data(1 << 20, 9);
    Bytes target = base;
    target[1000] ^= 1;
    for (const std::string args : {"", "-S djw", "-S fgk"}) {
        const Bytes delta = test_delta::stock_encode(dir, base, target, args);
        ScanSummary summary;
        const auto windows = scan_all(delta, &summary);
        ASSERT_FALSE(windows.empty()) << args;
        EXPECT_TRUE(summary.header.secondary_id.has_value()) << args;
        EXPECT_EQ(summary.target_bytes, target.size()) << args;
        for (const auto& w : windows) {
            if (w.coarse && w.has_source) {
                EXPECT_EQ(w.ranges, (std::vector<SourceRange>{{w.segment_offset, w.segment_length}}));
            }
        }
        EXPECT_EQ(test_delta::stock_decode(dir, mask_to_ranges(base, windows), delta), target) << args;
    }
}

}  // namespace
}  // namespace pvediff::engine
