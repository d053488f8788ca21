// SPDX-License-Identifier: GPL-2.0-or-later
// StreamedArchive: random-access reads of a front-to-back producer with bounded memory.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "pvediff/commands/mount_stream.h"
#include "pvediff/io/error.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::commands;

namespace {

// Small limits so that a few MB exercise the window, the head cache and restarts.
StreamLimits small_limits()
{
    StreamLimits l;
    l.head_bytes = 64 * 1024;
    l.window_bytes = 256 * 1024;
    l.keep_behind = 64 * 1024;
    l.piece_bytes = 16 * 1024;
    return l;
}

// Writes `data` in uneven writes; counts runs; fails after `fail_at` bytes if set.
struct Producer {
    const std::vector<std::uint8_t>* data;
    std::atomic<int>* runs;
    std::size_t fail_at = SIZE_MAX;
    void operator()(io::ByteSink& out) const
    {
        ++*runs;
        std::size_t pos = 0;
        std::size_t step = 1;
        while (pos < data->size()) {
            const std::size_t n = std::min({data->size() - pos, step * 7919, fail_at - pos});
            if (n == 0) {
                throw io::Error("window 3: checksum mismatch");
            }
            out.write(std::span(*data).subspan(pos, n));
            pos += n;
            step = step % 50 + 1;
        }
    }
};

std::vector<std::uint8_t> read_at(StreamedArchive& a, std::uint64_t off, std::size_t len)
{
    std::vector<std::uint8_t> buf(len);
    buf.resize(a.read(off, buf));
    return buf;
}

std::vector<std::uint8_t> slice(const std::vector<std::uint8_t>& d, std::uint64_t off, std::size_t len)
{
    const auto end = std::min<std::uint64_t>(d.size(), off + len);
    return {d.begin() + static_cast<std::ptrdiff_t>(off), d.begin() + static_cast<std::ptrdiff_t>(end)};
}

TEST(MountStream, SequentialReadsGetEveryByteWithOneProducerRun)
{
    const auto data = test::make_data(3 * 1024 * 1024 + 17, 1);
    std::atomic<int> runs{0};
    StreamedArchive a("seq", data.size(), Producer{&data, &runs}, small_limits());
    std::vector<std::uint8_t> got;
    for (std::uint64_t off = 0;; off += 131072) {
        const auto part = read_at(a, off, 131072);
        if (part.empty()) {
            break;
        }
        got.insert(got.end(), part.begin(), part.end());
    }
    EXPECT_EQ(got, data);
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(a.restarts(), 0U);
}

TEST(MountStream, ReadsBehindTheWindowComeFromTheHeadOrAProducerRestart)
{
    const auto data = test::make_data(2 * 1024 * 1024, 2);
    std::atomic<int> runs{0};
    StreamedArchive a("random", data.size(), Producer{&data, &runs}, small_limits());
    // The end first, then the head (cache: no restart), then reverse order through the middle.
    EXPECT_EQ(read_at(a, data.size() - 5000, 9000), slice(data, data.size() - 5000, 9000));
    EXPECT_EQ(read_at(a, 100, 4096), slice(data, 100, 4096));
    EXPECT_EQ(a.restarts(), 0U);
    for (std::uint64_t off = data.size() - 70000; off > 200000; off -= 150001) {
        EXPECT_EQ(read_at(a, off, 70000), slice(data, off, 70000)) << off;
    }
    EXPECT_GT(a.restarts(), 0U);
    std::mt19937_64 rng(3);
    for (int i = 0; i < 40; ++i) {
        const std::uint64_t off = rng() % data.size();
        const std::size_t len = 1 + rng() % 200000;
        ASSERT_EQ(read_at(a, off, len), slice(data, off, len)) << off << "+" << len;
    }
    EXPECT_TRUE(read_at(a, data.size(), 10).empty());
}

TEST(MountStream, TwoReadersOfTheSameFileEachGetTheirBytes)
{
    const auto data = test::make_data(1024 * 1024, 4);
    std::atomic<int> runs{0};
    StreamedArchive a("two", data.size(), Producer{&data, &runs}, small_limits());
    std::atomic<bool> ok1{true};
    std::atomic<bool> ok2{true};
    std::thread t1([&] {
        for (std::uint64_t off = 0; off < data.size(); off += 65536) {
            ok1 = ok1 && read_at(a, off, 65536) == slice(data, off, 65536);
        }
    });
    std::thread t2([&] {
        for (std::uint64_t off = 0; off < 60000; off += 1000) {
            ok2 = ok2 && read_at(a, off, 1000) == slice(data, off, 1000);
        }
    });
    t1.join();
    t2.join();
    EXPECT_TRUE(ok1);
    EXPECT_TRUE(ok2);
}

TEST(MountStream, AFailingProducerGivesErrorsNeverOtherBytes)
{
    const auto data = test::make_data(1024 * 1024, 5);
    std::atomic<int> runs{0};
    StreamedArchive a("bad", data.size(), Producer{&data, &runs, 300000}, small_limits());
    EXPECT_EQ(read_at(a, 0, 1000), slice(data, 0, 1000));  // delivered before the failure
    EXPECT_THROW(read_at(a, 299000, 4000), io::Error);     // crosses the failure point
    EXPECT_THROW(read_at(a, 600000, 10), io::Error);
    EXPECT_EQ(read_at(a, 10, 100), slice(data, 10, 100));  // the head cache stays good
}

TEST(MountStream, AProducerThatEndsShortOrRunsLongIsAnError)
{
    const auto data = test::make_data(200000, 6);
    std::atomic<int> runs{0};
    StreamedArchive shorter("short", data.size() + 10, Producer{&data, &runs}, small_limits());
    EXPECT_THROW(read_at(shorter, data.size() - 10, 20), io::Error);
    StreamedArchive longer("long", data.size() - 10, Producer{&data, &runs}, small_limits());
    EXPECT_THROW(read_at(longer, data.size() - 100, 90), io::Error);
}

TEST(MountStream, ClosingWhileTheProducerWaitsStopsIt)
{
    const auto data = test::make_data(4 * 1024 * 1024, 7);
    std::atomic<int> runs{0};
    {
        StreamedArchive a("closed", data.size(), Producer{&data, &runs}, small_limits());
        EXPECT_EQ(read_at(a, 0, 10), slice(data, 0, 10));
    }  // the producer is blocked on a full window: the destructor must not hang
    EXPECT_EQ(runs.load(), 1);
}

}  // namespace
