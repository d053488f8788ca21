// SPDX-License-Identifier: GPL-2.0-or-later
// Interoperability with the real tools vzdump uses, in both directions: what zstd,
// gzip, pigz and lzop write, pvediff reads byte for byte; what pvediff writes, they
// read (and `lzop -t`, `gzip -t`, `zstd -t` accept).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "pvediff/io/error.h"
#include "test_io_helpers.h"

namespace pvediff::io {
namespace {

using test::run;
using test::sha256_hex_of_file;
using test::shell_quote;

struct Input {
    const char* name;
    std::size_t size;
};
// A few MiB of text-like data with noise, and the edge cases.
constexpr Input inputs[] = {{"big", 3 * 1024 * 1024 + 4321}, {"empty", 0}, {"one", 1}};

class ToolsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (const auto& in : inputs) {
            test::write_file(dir_ / in.name, test::make_data(in.size, 42));
        }
    }
    [[nodiscard]] std::string q(const std::string& name) const { return shell_quote((dir_ / name).string()); }

    test::TempDir dir_;
};

struct ToolCase {
    const char* label;
    Codec codec;
    // %IN% and %OUT% stand for the quoted input and output paths.
    const char* command;
};

std::string expand(std::string cmd, const std::string& in, const std::string& out)
{
    for (const auto& [key, value] : {std::pair{"%IN%", in}, std::pair{"%OUT%", out}}) {
        for (std::size_t pos; (pos = cmd.find(key)) != std::string::npos;) {
            cmd.replace(pos, std::string_view(key).size(), value);
        }
    }
    return cmd;
}

constexpr ToolCase tool_writers[] = {
    {"zstd", Codec::zstd, "zstd -q -c %IN% > %OUT%"},
    {"zstd_T2_19", Codec::zstd, "zstd -q -T2 -19 -c %IN% > %OUT%"},
    {"zstd_rsyncable_pipe", Codec::zstd, "zstd -q --rsyncable -T2 < %IN% > %OUT%"},
    {"zstd_no_check", Codec::zstd, "zstd -q --no-check -c %IN% > %OUT%"},
    {"gzip", Codec::gzip, "gzip -c %IN% > %OUT%"},
    {"gzip_no_name", Codec::gzip, "gzip -n -c %IN% > %OUT%"},
    {"pigz_p2", Codec::gzip, "pigz -p 2 -c %IN% > %OUT%"},
    {"pigz_rsyncable", Codec::gzip, "pigz --rsyncable -c %IN% > %OUT%"},
    {"pigz_independent", Codec::gzip, "pigz -i -p 2 -b 128 -c %IN% > %OUT%"},
    {"lzop", Codec::lzo, "lzop -c %IN% > %OUT%"},
    {"lzop_9", Codec::lzo, "lzop -9 -c %IN% > %OUT%"},
    {"lzop_1", Codec::lzo, "lzop -1 -c %IN% > %OUT%"},
    {"lzop_crc32", Codec::lzo, "lzop --crc32 -c %IN% > %OUT%"},
    {"lzop_no_checksum", Codec::lzo, "lzop -F -c %IN% > %OUT%"},
    {"lzop_pipe_no_name", Codec::lzo, "cat %IN% | lzop > %OUT%"},
    {"lzop_path", Codec::lzo, "lzop -P -c %IN% > %OUT%"},
};

TEST_F(ToolsTest, ReadsWhatTheToolsWrite)
{
    for (const auto& tool : tool_writers) {
        for (const auto& in : inputs) {
            SCOPED_TRACE(std::string(tool.label) + " " + in.name);
            const std::string out = std::string(in.name) + "." + tool.label;
            ASSERT_EQ(run(expand(tool.command, q(in.name), q(out))), 0);
            auto decoded = open_decompressed((dir_ / out).string());
            EXPECT_EQ(decoded.codec, tool.codec);
            const auto plain = test::decompress_all(std::move(decoded.source), 100'000);
            EXPECT_EQ(test::sha256_hex(plain), sha256_hex_of_file(dir_ / in.name));
        }
    }
}

TEST_F(ToolsTest, ReadsConcatenatedFilesLikeTheTools)
{
    test::write_file(dir_ / "second", test::make_data(500'000, 43));
    ASSERT_EQ(run("cat " + q("big") + " " + q("one") + " " + q("second") + " > " + q("all")), 0);
    const std::string expected = sha256_hex_of_file(dir_ / "all");
    const char* makers[] = {
        // `cat a.gz b.gz` and gzip's own multi-file output
        "for f in big one second; do gzip -c $D/$f; done > $D/cat.out",
        "gzip -c $D/big $D/one $D/second > $D/cat.out",
        "for f in big one second; do pigz -p 2 -c $D/$f; done > $D/cat.out",
        "for f in big one second; do zstd -q -c $D/$f; done > $D/cat.out",
        "for f in big one second; do lzop -c $D/$f; done > $D/cat.out",
    };
    for (const char* maker : makers) {
        SCOPED_TRACE(maker);
        ASSERT_EQ(run("D=" + shell_quote(dir_.path().string()) + "; " + maker), 0);
        auto decoded = open_decompressed((dir_ / "cat.out").string());
        EXPECT_EQ(test::sha256_hex(test::decompress_all(std::move(decoded.source))), expected);
    }
}

struct OurCase {
    const char* label;
    Codec codec;
    CompressOptions options;
    const char* check;  // tool reading %IN% (ours) to stdout
};

constexpr OurCase our_writers[] = {
    {"zstd", Codec::zstd, {}, "zstd -q -d -c %IN%"},
    {"zstd_threads2", Codec::zstd, {0, 2}, "zstd -q -d -c %IN%"},
    // Held whole and compressed at 19 ("big" is 3 MiB), and held, then let go (1 MiB).
    {"zstd_small_19", Codec::zstd, {9, 1, 19, 4 << 20}, "zstd -q -d -c %IN%"},
    {"zstd_small_let_go", Codec::zstd, {9, 2, 19, 1 << 20}, "zstd -q -d -c %IN%"},
    // A differential's: a 16 MiB window, small streams at 19 (1 MiB: "big" is let go).
    {"zstd_window_24", Codec::zstd, {9, 1, 19, 1 << 20, 24}, "zstd -q -d -c %IN%"},
    {"gzip", Codec::gzip, {}, "gzip -d -c %IN%"},
    {"gzip_pigz", Codec::gzip, {}, "pigz -d -c %IN%"},
    {"gzip_1", Codec::gzip, {1, 1}, "gzip -d -c %IN%"},
    {"lzop", Codec::lzo, {}, "lzop -d -c %IN%"},
    {"lzop_1", Codec::lzo, {1, 1}, "lzop -d -c %IN%"},
    {"lzop_9", Codec::lzo, {9, 1}, "lzop -d -c %IN%"},
};

TEST_F(ToolsTest, ToolsReadWhatWeWrite)
{
    for (const auto& ours : our_writers) {
        for (const auto& in : inputs) {
            SCOPED_TRACE(std::string(ours.label) + " " + in.name);
            const std::string packed = std::string(in.name) + "." + ours.label;
            test::compress_to_file(test::read_file(dir_ / in.name), dir_ / packed, ours.codec, ours.options);
            ASSERT_EQ(run(expand(ours.check, q(packed), "") + " > " + q("check.out")), 0);
            EXPECT_EQ(sha256_hex_of_file(dir_ / "check.out"), sha256_hex_of_file(dir_ / in.name));
            const char* test_cmd = ours.codec == Codec::zstd   ? "zstd -q -t %IN%"
                                   : ours.codec == Codec::gzip ? "gzip -t %IN%"
                                                               : "lzop -t -q %IN%";
            EXPECT_EQ(run(expand(test_cmd, q(packed), "")), 0);
        }
    }
}

TEST_F(ToolsTest, LzopExtractsOurFileAsAReadableRegularFile)
{
    test::compress_to_file(test::read_file(dir_ / "big"), dir_ / "x.lzo", Codec::lzo);
    ASSERT_EQ(run("cd " + shell_quote(dir_.path().string()) + " && lzop -d -q x.lzo"), 0);
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "x").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0644U);
    EXPECT_EQ(sha256_hex_of_file(dir_ / "x"), sha256_hex_of_file(dir_ / "big"));
    // `lzop -l` understands our header too.
    EXPECT_EQ(run("lzop -l " + q("x.lzo") + " > /dev/null"), 0);
}

TEST_F(ToolsTest, LzopFilterIsRejectedClearly)
{
    ASSERT_EQ(run("lzop --filter=1 -c " + q("big") + " > " + q("f.lzo")), 0);
    try {
        test::decompress_file(dir_ / "f.lzo", Codec::lzo);
        FAIL() << "filtered lzop file accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find((dir_ / "f.lzo").string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("filter 1 is not supported"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace pvediff::io
