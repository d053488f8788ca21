// SPDX-License-Identifier: GPL-2.0-or-later
// tar layout and verification against archives made by GNU tar.
#include <gtest/gtest.h>

#include <cstring>

#include "pvediff/formats/layout.h"
#include "pvediff/formats/tar_verify.h"
#include "pvediff/formats/tar_writer.h"
#include "pvediff/io/error.h"
#include "test_formats_helpers.h"

namespace pvediff::formats {
namespace {

struct Member {
    std::string path;
    std::vector<std::uint8_t> content;  // regular files with data only
    std::uint64_t ordinal;
};

class GnuTar : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override
    {
        const std::string long_dir(120, 'd');
        const std::string long_file = long_dir + "/" + std::string(110, 'f') + ".bin";
        ASSERT_EQ(test::run("mkdir -p " + test::shell_quote((dir_ / "src" / long_dir).string())), 0);
        files_ = {{"short.txt", test::make_data(1000, 1), 1},
                  {long_file, test::make_data(70000, 2), 3},
                  {"big.bin", test::make_data((9 << 20) + 123, 3), 5}};
        for (const auto& f : files_) {
            test::write_file(dir_.path() / "src" / f.path, f.content);
        }
        test::write_file(dir_ / "src/empty", {});
        const std::string src = test::shell_quote((dir_ / "src").string());
        ASSERT_EQ(test::run("cd " + src + " && ln -s short.txt link && ln short.txt hard && tar --format=" +
                            GetParam() + " --no-recursion -cf ../x.tar short.txt " + long_dir + " " +
                            long_file + " empty big.bin link hard"),
                  0);
        tar_ = test::read_file(dir_ / "x.tar");
    }

    test::TempDir dir_;
    std::vector<Member> files_;
    std::vector<std::uint8_t> tar_;
};

TEST_P(GnuTar, LayoutFindsMemberDataExactly)
{
    ASSERT_EQ(detect_format(tar_), ArchiveFormat::tar);
    const auto regions = test::layout_of(tar_, ArchiveFormat::tar, 1 << 20);
    test::expect_tiling(regions, tar_.size());
    const auto merged = test::merge_pieces(regions);
    std::vector<Region> payload;
    for (const auto& r : merged) {
        if (r.kind == RegionKind::payload) {
            payload.push_back(r);
        } else {
            ASSERT_EQ(r.kind, RegionKind::metadata);
        }
    }
    ASSERT_EQ(payload.size(), files_.size());
    for (std::size_t i = 0; i < files_.size(); ++i) {
        EXPECT_EQ(payload[i].key, files_[i].ordinal) << files_[i].path;
        ASSERT_EQ(payload[i].length, files_[i].content.size()) << files_[i].path;
        EXPECT_EQ(std::memcmp(tar_.data() + payload[i].offset, files_[i].content.data(), payload[i].length),
                  0);
    }
    // big.bin comes in 4 MiB pieces.
    EXPECT_EQ(std::count_if(regions.begin(), regions.end(), [](const Region& r) { return r.key == 5; }), 3);
    for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        EXPECT_EQ(test::layout_of(tar_, ArchiveFormat::tar, piece), regions) << piece;
    }
    auto parser = make_layout_parser(ArchiveFormat::tar);
    std::vector<Region> out;
    parser->feed(tar_, out);
    parser->finish(out);
    EXPECT_FALSE(parser->opaque());
}

TEST_P(GnuTar, VerifyOk)
{
    io::MemorySource src(tar_, "x.tar");
    const auto r = verify_tar(src);
    EXPECT_TRUE(r.ok) << (r.problems.empty() ? "" : r.problems[0]);
    EXPECT_EQ(r.members, 7U);
    EXPECT_EQ(r.data_bytes, 1000U + 70000U + (9U << 20) + 123U);
    EXPECT_EQ(r.bytes, tar_.size());
    EXPECT_TRUE(r.end_marker);
}

TEST_P(GnuTar, TruncatedFailsVerify)
{
    for (const std::size_t n : {tar_.size() / 2, std::size_t{1536 + 100}, tar_.size() - 10240 - 512}) {
        io::MemorySource src(
            std::vector<std::uint8_t>(tar_.begin(), tar_.begin() + static_cast<std::ptrdiff_t>(n)), "x.tar");
        const auto r = verify_tar(src);
        EXPECT_FALSE(r.ok) << n;
        EXPECT_FALSE(r.problems.empty());
        EXPECT_EQ(r.bytes, n);
    }
}

TEST_P(GnuTar, CorruptHeaderFailsVerify)
{
    // The header of big.bin: find it by name.
    const std::string name = "big.bin";
    std::size_t at = 0;
    for (std::size_t off = 0; off + 512 <= tar_.size(); off += 512) {
        if (std::memcmp(tar_.data() + off, name.data(), name.size() + 1) == 0) {
            at = off;
        }
    }
    ASSERT_NE(at, 0U);
    auto t = tar_;
    t[at + 2] ^= 0x20;
    io::MemorySource src(t, "x.tar");
    const auto r = verify_tar(src);
    EXPECT_FALSE(r.ok);
    ASSERT_FALSE(r.problems.empty());
    // The layout parser gives up at the bad header.
    const auto regions = test::layout_of(t, ArchiveFormat::tar, 4096);
    test::expect_tiling(regions, t.size());
    EXPECT_EQ(regions.back().kind, RegionKind::payload);
    EXPECT_EQ(test::merge_pieces(regions).back().offset, at);
}

TEST_P(GnuTar, EveryTruncationTiles)
{
    const auto head = std::span(tar_).first(200 * 1024);
    for (std::size_t n = 0; n < head.size(); n += n < 6000 ? 1 : 1021) {
        test::expect_tiling(test::layout_of(head.first(n), ArchiveFormat::tar, 4096), n);
        if (HasFatalFailure()) {
            FAIL() << n;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, GnuTar, ::testing::Values("gnu", "oldgnu", "pax"));

TEST(TarSparse, GnuAndPaxSparseParse)
{
    test::TempDir dir;
    const std::string d = test::shell_quote(dir.path().string());
    ASSERT_EQ(test::run("cd " + d +
                        " && head -c 50000 /dev/urandom > s && truncate -s 30M s && "
                        "head -c 7000 /dev/urandom >> s && echo tail > t"),
              0);
    for (const std::string fmt : {"gnu", "pax"}) {
        ASSERT_EQ(test::run("cd " + d + " && tar --sparse --format=" + fmt + " -cf x.tar s t"), 0);
        const auto tar = test::read_file(dir / "x.tar");
        auto parser = make_layout_parser(ArchiveFormat::tar);
        std::vector<Region> out;
        parser->feed(tar, out);
        parser->finish(out);
        test::expect_tiling(out, tar.size());
        EXPECT_FALSE(parser->opaque()) << fmt;
        const auto merged = test::merge_pieces(out);
        // "t" (5 bytes) is member data, found after the sparse member.
        EXPECT_TRUE(std::any_of(merged.begin(), merged.end(), [&](const Region& r) {
            return r.kind == RegionKind::payload && r.length == 5 &&
                   std::memcmp(tar.data() + r.offset, "tail\n", 5) == 0;
        })) << fmt;
        io::MemorySource src(tar, "x.tar");
        const auto r = verify_tar(src);
        EXPECT_TRUE(r.ok) << fmt << ": " << (r.problems.empty() ? "" : r.problems[0]);
        EXPECT_EQ(r.members, 2U);
    }
}

TEST(TarVerify, TarWriterOutputAndMissingEndMarker)
{
    io::MemorySink sink;
    TarWriter w(sink);
    w.add_directory("etc", 1700000000);
    w.add_file("etc/a", test::make_data(5000, 1), 1700000000);
    const std::size_t member_end = sink.data().size();
    w.finish();
    {
        io::MemorySource src(sink.data(), "w.tar");
        EXPECT_TRUE(verify_tar(src).ok);
    }
    // Cut exactly after the last member: libarchive alone would accept it.
    io::MemorySource src(
        std::vector<std::uint8_t>(sink.data().begin(),
                                  sink.data().begin() + static_cast<std::ptrdiff_t>(member_end)),
        "w.tar");
    const auto r = verify_tar(src);
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.end_marker);
    ASSERT_EQ(r.problems.size(), 1U);
    EXPECT_NE(r.problems[0].find("no end-of-archive marker"), std::string::npos);
}

TEST(TarVerify, GarbageFails)
{
    io::MemorySource src(test::make_data(100000, 5), "g.tar");
    EXPECT_FALSE(verify_tar(src).ok);
    io::MemorySource empty(std::vector<std::uint8_t>{}, "e.tar");
    EXPECT_FALSE(verify_tar(empty).ok);
}

// A source that fails after some bytes: its error is thrown, not reported.
class FailingSource final : public io::ByteSource {
public:
    explicit FailingSource(std::vector<std::uint8_t> data) : inner_(std::move(data)) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (served_ > 3000) {
            throw io::Error("cannot read 'f.tar': Input/output error");
        }
        const std::size_t n = inner_.read(buf.first(std::min<std::size_t>(buf.size(), 1000)));
        served_ += n;
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }

private:
    io::MemorySource inner_;
    std::size_t served_ = 0;
};

TEST(TarVerify, SourceErrorsAreThrown)
{
    io::MemorySink sink;
    TarWriter w(sink);
    w.add_file("a", test::make_data(50000, 1), 0);
    w.finish();
    FailingSource src(sink.data());
    EXPECT_THROW(verify_tar(src), io::Error);
}

}  // namespace
}  // namespace pvediff::formats
