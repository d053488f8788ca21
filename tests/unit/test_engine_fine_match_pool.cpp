// SPDX-License-Identifier: GPL-2.0-or-later
// Fine matching on worker threads (FineMatchPool): the same instructions as on the
// caller's thread, handed back in the order the jobs were submitted.
#include <gtest/gtest.h>

#include <memory>

#include "fine_match_pool.h"
#include "pvediff/engine/vcdiff_writer.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "test_util.h"

namespace pvediff::engine::detail {
namespace {

// A changed region: a piece of `base` with a few bytes rewritten every `every` bytes,
// and that piece with some unrelated bytes as the pieces of the full to match against.
std::unique_ptr<FineMatchJob> make_job(const std::vector<std::uint8_t>& base, std::uint32_t n)
{
    auto job = std::make_unique<FineMatchJob>();
    const std::size_t from = (n * 7919U) % (base.size() / 2);
    const std::size_t length = 4096 + (n * 104729U) % 60000;
    job->target.assign(base.begin() + static_cast<std::ptrdiff_t>(from),
                       base.begin() + static_cast<std::ptrdiff_t>(from + length));
    const std::size_t every = 300 + n % 700;
    for (std::size_t at = n % every; at < job->target.size(); at += every) {
        job->target[at] ^= 0x5a;
    }
    const auto other = test::make_data(20000, 1000 + n);
    job->add_base(other, 1U << 30);
    job->add_base(std::span(base).subspan(from > 100 ? from - 100 : 0, length + 200),
                  from > 100 ? from - 100 : 0);
    return job;
}

// The SHA-256 of the VCDIFF the jobs' instructions make, written in order.
std::string written(const std::vector<std::unique_ptr<FineMatchJob>>& jobs)
{
    io::MemorySink sink;
    VcdiffWriter writer(sink);
    for (const auto& job : jobs) {
        write_matched(*job, writer, nullptr);
    }
    writer.finish();
    io::Sha256 sha;
    sha.update(sink.data());
    return io::to_hex(sha.finish());
}

TEST(FineMatchPool, SameInstructionsInSubmissionOrder)
{
    const auto base = test::make_data(std::size_t{1} << 20, 7);
    std::vector<std::unique_ptr<FineMatchJob>> alone;
    FineMatcher matcher;
    for (std::uint32_t n = 0; n < 40; ++n) {
        alone.push_back(make_job(base, n));
        matcher.match(*alone.back());
        EXPECT_GT(alone.back()->instructions.size(), 1U);
    }

    std::vector<std::unique_ptr<FineMatchJob>> pooled;
    {
        // A small limit: the caller must take jobs back while others are matched.
        FineMatchPool pool(2, 256 * 1024);
        std::size_t queued = 0;
        for (std::uint32_t n = 0; n < 40; ++n) {
            auto job = make_job(base, n);
            while (!pool.has_room(job->bytes())) {
                pooled.push_back(pool.next());
                --queued;
            }
            pool.submit(std::move(job));
            ++queued;
        }
        for (; queued > 0; --queued) {
            pooled.push_back(pool.next());
        }
    }
    ASSERT_EQ(pooled.size(), alone.size());
    for (std::size_t i = 0; i < alone.size(); ++i) {
        EXPECT_EQ(pooled[i]->target, alone[i]->target) << "job " << i << " came back out of order";
        EXPECT_EQ(pooled[i]->instructions.size(), alone[i]->instructions.size()) << "job " << i;
    }
    EXPECT_EQ(written(pooled), written(alone));
}

TEST(FineMatchPool, NextWithoutAJobIsAnError)
{
    FineMatchPool pool(1, 1024);
    EXPECT_THROW(pool.next(), io::Error);
}

}  // namespace
}  // namespace pvediff::engine::detail
