// SPDX-License-Identifier: GPL-2.0-or-later
// The commands layer driven in a scratch dump dir, as the hook and a user would drive
// it: a kept full, a differential replacing the next day's archive, restore of both,
// verify of the chain, and what verify and restore say about a damaged differential.
// Archives are made by pvediff's VMA writer and compressed by the real zstd; every
// check compares SHA-256 of content.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "pvediff/commands/backup.h"
#include "pvediff/commands/make_vma.h"
#include "pvediff/commands/restore.h"
#include "pvediff/commands/verify.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/error.h"
#include "test_util.h"

namespace pvediff::commands {
namespace {

namespace fs = std::filesystem;

constexpr const char* day0_name = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
constexpr const char* day1_name = "vzdump-qemu-101-2026_11_21-01_00_00.vma.zst";
constexpr std::size_t disk_size = 4 << 20;

// A dump dir with a disk image; `archive` writes the image as a zstd-compressed VMA
// under a vzdump name and returns the SHA-256 of its decompressed content.
class CommandsChain : public ::testing::Test {
protected:
    test::TempDir work;
    fs::path dump = work / "dump";
    std::vector<std::uint8_t> disk = test::make_data(disk_size, 11);
    std::vector<std::string> lines;
    Report report = [this](const std::string& line) { lines.push_back(line); };

    void SetUp() override
    {
        fs::create_directory(dump);
        // Zero blocks, which VMA leaves out.
        std::fill_n(disk.begin() + 4096 * 100, 4096 * 30, 0);
    }

    std::string archive(const char* name, std::uint32_t order_seed)
    {
        test::write_file(work / "disk.img", disk);
        MakeVmaOptions options;
        options.image = work / "disk.img";
        options.order_seed = order_seed;
        options.ctime = 1795000000 + order_seed;
        io::MemorySink vma;
        make_vma(options, vma);
        test::write_file(work / "content.vma", vma.data());
        EXPECT_EQ(test::run("zstd -q -f -o " + test::shell_quote((dump / name).string()) + " " +
                            test::shell_quote((work / "content.vma").string())),
                  0);
        return test::sha256_hex_of_file(work / "content.vma");
    }

    static store::EffectiveSettings weekly_fulls()
    {
        store::EffectiveSettings s;
        s.fullbackup = std::chrono::seconds(7 * 86400);
        s.lock_timeout = std::chrono::seconds(5);
        return s;
    }

    // Restores `file` raw into work/<out> and returns the SHA-256 of what was written.
    std::string restore_raw(const fs::path& file, const std::string& out)
    {
        RestoreOptions options;
        options.file = file;
        options.output = (work / out).string();
        options.compress = io::Codec::none;
        const RestoreResult r = restore(options, report);
        EXPECT_EQ(r.written, work / out);
        return test::sha256_hex_of_file(work / out);
    }

    // Two days: day 0 kept as the full, day 1 replaced by a differential.
    struct Chain {
        std::string day0_sha;
        std::string day1_sha;
        fs::path differential;
    };
    Chain make_chain()
    {
        Chain c;
        c.day0_sha = archive(day0_name, 1);
        const BackupResult full = backup_archive(dump / day0_name, weekly_fulls(), report);
        EXPECT_FALSE(full.differential);
        // Day 1: a few pages rewritten, clusters in another order.
        for (std::size_t page : {3U, 77U, 500U, 901U}) {
            const auto fresh = test::make_data(4096, static_cast<std::uint32_t>(page));
            std::copy(fresh.begin(), fresh.end(), disk.begin() + static_cast<std::ptrdiff_t>(page * 4096));
        }
        c.day1_sha = archive(day1_name, 2);
        const BackupResult diff = backup_archive(dump / day1_name, weekly_fulls(), report);
        EXPECT_TRUE(diff.differential);
        c.differential = diff.written;
        return c;
    }
};

TEST_F(CommandsChain, BackupKeepsAFullWithItsSidecars)
{
    const std::string sha = archive(day0_name, 1);
    const std::string before = test::sha256_hex_of_file(dump / day0_name);
    const BackupResult r = backup_archive(dump / day0_name, weekly_fulls(), report);
    EXPECT_FALSE(r.differential);
    EXPECT_EQ(r.content_size, fs::file_size(work / "content.vma"));
    // frame-fulls (the default): the file is written again in zstd frames, its content
    // the same (restored below), with its cluster records.
    EXPECT_NE(test::sha256_hex_of_file(dump / day0_name), before);
    EXPECT_EQ(r.file_size, fs::file_size(dump / day0_name));
    EXPECT_TRUE(fs::is_regular_file(dump / (std::string(day0_name) + ".pvediff-vma-clusters")));
    EXPECT_TRUE(fs::is_regular_file(dump / (std::string(day0_name) + ".pvediff-manifest")));
    EXPECT_TRUE(fs::is_regular_file(dump / (std::string(day0_name) + ".pvediff-index")));
    EXPECT_EQ(restore_raw(dump / day0_name, "full.vma"), sha);
}

TEST_F(CommandsChain, WithoutFrameFullsAFullsBytesAreNeverChanged)
{
    const std::string sha = archive(day0_name, 1);
    const std::string before = test::sha256_hex_of_file(dump / day0_name);
    store::EffectiveSettings settings = weekly_fulls();
    settings.frame_fulls = false;
    const BackupResult r = backup_archive(dump / day0_name, settings, report);
    EXPECT_FALSE(r.differential);
    EXPECT_EQ(test::sha256_hex_of_file(dump / day0_name), before);
    EXPECT_FALSE(fs::exists(dump / (std::string(day0_name) + ".pvediff-vma-clusters")));
    EXPECT_TRUE(fs::is_regular_file(dump / (std::string(day0_name) + ".pvediff-index")));
    EXPECT_EQ(restore_raw(dump / day0_name, "full.vma"), sha);
}

TEST_F(CommandsChain, DifferentialReplacesTheArchiveAndRestoresItExactly)
{
    const Chain c = make_chain();
    EXPECT_FALSE(fs::exists(dump / day1_name)) << "the archive is replaced by its differential";
    ASSERT_TRUE(fs::is_regular_file(c.differential));
    EXPECT_EQ(c.differential.filename().string(),
              std::string(day0_name) + "--differential-2026_11_21-01_00_00.vcdiff.zst");
    EXPECT_LT(fs::file_size(c.differential), fs::file_size(dump / day0_name) / 4);
    EXPECT_EQ(restore_raw(c.differential, "day1.vma"), c.day1_sha);
    EXPECT_EQ(restore_raw(dump / day0_name, "day0.vma"), c.day0_sha);
    // Nothing but the backups and their sidecars (and the lock) is left in the dump dir.
    for (const auto& e : fs::directory_iterator(dump)) {
        EXPECT_EQ(e.path().filename().string().find("pvediff-tmp"), std::string::npos) << e.path();
    }
}

TEST_F(CommandsChain, RestoreNeverOverwritesAnExistingFile)
{
    const Chain c = make_chain();
    test::write_file(work / "taken.vma", {1, 2, 3});
    RestoreOptions options;
    options.file = c.differential;
    options.output = (work / "taken.vma").string();
    options.compress = io::Codec::none;
    EXPECT_THROW(restore(options, report), io::Error);
    EXPECT_EQ(test::read_file(work / "taken.vma"), (std::vector<std::uint8_t>{1, 2, 3}));
}

TEST_F(CommandsChain, VerifyPassesASoundChain)
{
    make_chain();
    const VerifyReport v = verify_paths({dump}, [](const std::string&) {});
    ASSERT_EQ(v.items.size(), 2U);
    EXPECT_TRUE(v.ok());
    for (const VerifyItem& item : v.items) {
        EXPECT_TRUE(item.ok) << item.file;
        EXPECT_EQ(item.content, "ok") << item.file;
        EXPECT_TRUE(item.problems.empty()) << item.file;
    }
}

TEST_F(CommandsChain, VerifyAndRestoreRefuseADamagedDifferential)
{
    const Chain c = make_chain();
    const std::string full_before = test::sha256_hex_of_file(dump / day0_name);
    // Rewrite the differential's content with one byte changed in its middle
    // (recompressed, so only the VCDIFF data is wrong, not the zstd frame).
    const fs::path raw = work / "d.vcdiff";
    ASSERT_EQ(test::run("zstd -q -d -f -o " + test::shell_quote(raw.string()) + " " +
                        test::shell_quote(c.differential.string())),
              0);
    auto bytes = test::read_file(raw);
    ASSERT_GT(bytes.size(), 1000U);
    bytes[bytes.size() / 2] ^= 0x5a;
    test::write_file(raw, bytes);
    ASSERT_EQ(test::run("zstd -q -f -o " + test::shell_quote(c.differential.string()) + " " +
                        test::shell_quote(raw.string())),
              0);

    const VerifyReport v = verify_paths({dump}, [](const std::string&) {});
    EXPECT_FALSE(v.ok());
    const auto bad = std::find_if(v.items.begin(), v.items.end(),
                                  [&](const VerifyItem& i) { return i.kind == "differential"; });
    ASSERT_NE(bad, v.items.end());
    EXPECT_FALSE(bad->ok);
    EXPECT_FALSE(bad->problems.empty());

    EXPECT_THROW(restore_raw(c.differential, "bad.vma"), io::Error);
    EXPECT_FALSE(fs::exists(work / "bad.vma")) << "nothing under the output name";
    for (const auto& e : fs::directory_iterator(work.path())) {
        EXPECT_EQ(e.path().filename().string().find("pvediff-tmp"), std::string::npos) << e.path();
    }
    EXPECT_EQ(test::sha256_hex_of_file(dump / day0_name), full_before) << "the full is untouched";
}

}  // namespace
}  // namespace pvediff::commands
