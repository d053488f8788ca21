// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "pvediff/io/error.h"
#include "pvediff/io/threaded_stream.h"
#include "test_io_helpers.h"

namespace pvediff::io {
namespace {

// Counts what it hands out; never ends.
class EndlessSource final : public ByteSource {
public:
    explicit EndlessSource(std::shared_ptr<std::atomic<std::uint64_t>> produced)
        : produced_(std::move(produced))
    {
    }
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        for (auto& b : buf) {
            b = static_cast<std::uint8_t>(n_++);
        }
        *produced_ += buf.size();
        return buf.size();
    }
    [[nodiscard]] const std::string& name() const override { return name_; }

private:
    std::shared_ptr<std::atomic<std::uint64_t>> produced_;
    std::uint64_t n_ = 0;
    std::string name_ = "endless";
};

// Delivers `good` bytes of data, then fails like a corrupt archive would.
class FailingSource final : public ByteSource {
public:
    FailingSource(std::vector<std::uint8_t> data, std::size_t good) : data_(std::move(data)), good_(good) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (pos_ >= good_) {
            throw_parse_error(name_, pos_, "zstd: Corrupted block detected");
        }
        const std::size_t n = std::min({buf.size(), good_ - pos_, std::size_t{333}});
        std::memcpy(buf.data(), data_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return name_; }

private:
    std::vector<std::uint8_t> data_;
    std::size_t good_;
    std::size_t pos_ = 0;
    std::string name_ = "x.vma.zst";
};

// Records into shared state, so a test can look after the sink is gone; fails
// after `limit` bytes if asked to.
struct Recorded {
    std::mutex mutex;
    std::vector<std::uint8_t> data;
    std::vector<std::size_t> boundaries;  // where mark_boundary() came, in data's bytes
    bool finished = false;
    std::thread::id writer;
};

class RecordingSink final : public ByteSink {
public:
    explicit RecordingSink(std::shared_ptr<Recorded> rec, std::size_t limit = SIZE_MAX)
        : rec_(std::move(rec)), limit_(limit)
    {
    }
    void write(std::span<const std::uint8_t> data) override
    {
        const std::lock_guard lock(rec_->mutex);
        if (rec_->data.size() + data.size() > limit_) {
            throw_errno("write", name_, ENOSPC);
        }
        rec_->data.insert(rec_->data.end(), data.begin(), data.end());
        rec_->writer = std::this_thread::get_id();
    }
    void finish() override
    {
        const std::lock_guard lock(rec_->mutex);
        rec_->finished = true;
    }
    void mark_boundary() override
    {
        const std::lock_guard lock(rec_->mutex);
        rec_->boundaries.push_back(rec_->data.size());
    }
    [[nodiscard]] const std::string& name() const override { return name_; }

private:
    std::shared_ptr<Recorded> rec_;
    std::size_t limit_;
    std::string name_ = "/dump/out.vcdiff";
};

TEST(IoThreadedStream, ReadAheadPassesDataIntact)
{
    for (const std::size_t size :
         {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{1'000'003}}) {
        const auto data = test::make_data(size, 1);
        auto ahead = make_read_ahead(std::make_unique<MemorySource>(data, "in"), 4096, 3);
        EXPECT_EQ(ahead->name(), "in");
        EXPECT_EQ(test::decompress_all(std::move(ahead), 1000), data) << size;
    }
    // Reads after the end keep returning 0.
    auto ahead = make_read_ahead(std::make_unique<MemorySource>(test::make_data(10, 1)), 4, 1);
    std::vector<std::uint8_t> buf(100);
    EXPECT_EQ(read_full(*ahead, buf), 10U);
    EXPECT_EQ(ahead->read(buf), 0U);
    EXPECT_EQ(ahead->read(buf), 0U);
}

TEST(IoThreadedStream, ReadAheadOverADecompressor)
{
    test::TempDir dir;
    const auto data = test::make_data(2'000'000, 2);
    test::compress_to_file(data, dir / "x.zst", Codec::zstd);
    auto in = open_decompressed((dir / "x.zst").string());
    auto ahead = make_read_ahead(std::move(in.source));
    EXPECT_EQ(test::decompress_all(std::move(ahead), 12345), data);
}

TEST(IoThreadedStream, ReadAheadRethrowsTheStageError)
{
    const auto data = test::make_data(100'000, 3);
    auto ahead = make_read_ahead(std::make_unique<FailingSource>(data, 50'000), 1000, 4);
    std::vector<std::uint8_t> got;
    std::vector<std::uint8_t> buf(700);
    try {
        while (const std::size_t n = ahead->read(buf)) {
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        }
        FAIL() << "error swallowed";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "'x.vma.zst': offset 50000: zstd: Corrupted block detected");
    }
    // Whole buffers read before the failure arrive first, and nothing else.
    EXPECT_EQ(got, std::vector<std::uint8_t>(data.begin(), data.begin() + 50'000));
    // And the error stays.
    EXPECT_THROW(ahead->read(buf), Error);
}

TEST(IoThreadedStream, ReadAheadIsBoundedAndStopsWhenAbandoned)
{
    auto produced = std::make_shared<std::atomic<std::uint64_t>>(0);
    {
        auto ahead = make_read_ahead(std::make_unique<EndlessSource>(produced), 1000, 3);
        std::vector<std::uint8_t> buf(2500);
        std::uint64_t consumed = 0;
        for (int i = 0; i < 50; ++i) {
            consumed += ahead->read(buf);
            std::this_thread::yield();
            // Never more than `depth` buffers ahead of the consumer.
            EXPECT_LE(produced->load(), consumed + 3 * 1000);
        }
        // Destroyed here, with the producer blocked on a full queue: must not hang.
    }
    // Destroyed before anything was read.
    {
        auto ahead = make_read_ahead(std::make_unique<EndlessSource>(produced), 1 << 20, 2);
    }
    SUCCEED();
}

TEST(IoThreadedStream, WriteBehindPassesDataIntact)
{
    const auto data = test::make_data(1'500'001, 4);
    auto rec = std::make_shared<Recorded>();
    auto behind = make_write_behind(std::make_unique<RecordingSink>(rec), 4096, 3);
    EXPECT_EQ(behind->name(), "/dump/out.vcdiff");
    std::size_t pos = 0;
    for (std::size_t step = 1; pos < data.size(); step = step * 2 % 100'000 + 1) {
        const std::size_t n = std::min(step, data.size() - pos);
        behind->write(std::span(data).subspan(pos, n));
        pos += n;
    }
    behind->finish();
    EXPECT_TRUE(rec->finished);
    EXPECT_EQ(rec->data, data);
    EXPECT_NE(rec->writer, std::this_thread::get_id());
    EXPECT_THROW(behind->write(data), Error);
}

TEST(IoThreadedStream, WriteBehindPassesBoundariesOnInPlace)
{
    const auto data = test::make_data(20'000, 6);
    auto rec = std::make_shared<Recorded>();
    auto behind = make_write_behind(std::make_unique<RecordingSink>(rec), 4096, 2);
    behind->mark_boundary();  // before any byte
    behind->write(std::span(data).first(5000));
    behind->mark_boundary();  // inside a buffer
    behind->mark_boundary();  // twice in a row
    behind->write(std::span(data).subspan(5000, 3192));
    behind->mark_boundary();  // where a buffer was just filled
    behind->write(std::span(data).subspan(8192));
    behind->finish();
    EXPECT_EQ(rec->data, data);
    EXPECT_EQ(rec->boundaries, (std::vector<std::size_t>{0, 5000, 5000, 8192}));
    EXPECT_THROW(behind->mark_boundary(), Error);
}

TEST(IoThreadedStream, WriteBehindIntoACompressor)
{
    test::TempDir dir;
    const auto data = test::make_data(2'000'000, 5);
    {
        AtomicFile file(dir / "x.lzo");
        auto behind = make_write_behind(make_compressor(file.sink(), Codec::lzo));
        MemorySource in(data);
        copy_stream(in, *behind, 65536);
        behind->finish();
        file.commit();
    }
    EXPECT_EQ(test::decompress_file(dir / "x.lzo", Codec::lzo), data);
}

TEST(IoThreadedStream, WriteBehindRethrowsTheStageError)
{
    const auto data = test::make_data(1'000'000, 6);
    auto rec = std::make_shared<Recorded>();
    auto behind = make_write_behind(std::make_unique<RecordingSink>(rec, 100'000), 1000, 2);
    try {
        for (std::size_t pos = 0; pos < data.size(); pos += 100) {
            behind->write(std::span(data).subspan(pos, 100));
        }
        behind->finish();
        FAIL() << "error swallowed";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot write '/dump/out.vcdiff': No space left on device"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(rec->finished);
}

TEST(IoThreadedStream, WriteBehindErrorAtFinish)
{
    auto rec = std::make_shared<Recorded>();
    auto behind = make_write_behind(std::make_unique<RecordingSink>(rec, 10), 1000, 2);
    behind->write(test::make_data(500, 7));  // stays buffered until finish
    EXPECT_THROW(behind->finish(), Error);
    EXPECT_FALSE(rec->finished);
}

TEST(IoThreadedStream, WriteBehindAbandonedLeavesOutputUnfinished)
{
    auto rec = std::make_shared<Recorded>();
    {
        auto behind = make_write_behind(std::make_unique<RecordingSink>(rec), 1000, 2);
        behind->write(test::make_data(100'000, 8));
    }
    EXPECT_FALSE(rec->finished);
    EXPECT_LE(rec->data.size(), 100'000U);
    // Never even written to.
    {
        auto behind = make_write_behind(std::make_unique<RecordingSink>(rec), 1000, 2);
    }
}

TEST(IoThreadedStream, RejectsEmptyQueues)
{
    EXPECT_THROW(make_read_ahead(std::make_unique<MemorySource>(std::vector<std::uint8_t>{}), 0, 1), Error);
    EXPECT_THROW(make_write_behind(std::make_unique<MemorySink>(), 1000, 0), Error);
}

}  // namespace
}  // namespace pvediff::io
