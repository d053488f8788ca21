// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include "pvediff/io/error.h"
#include "pvediff/store/config.h"
#include "pvediff/store/duration.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;
using namespace std::chrono_literals;

namespace {

std::string error_of(std::string_view text)
{
    try {
        (void)parse_config(text, "/etc/pvediff.conf");
    } catch (const io::Error& e) {
        return e.what();
    }
    return "no error";
}

TEST(StoreConfig, DurationsWithUnits)
{
    EXPECT_EQ(parse_duration("7", 24h), std::chrono::seconds(7 * 86400));
    EXPECT_EQ(parse_duration("1.5", 24h), 36h);
    EXPECT_EQ(parse_duration("36h", 24h), 36h);
    EXPECT_EQ(parse_duration("2d", 24h), 48h);
    EXPECT_EQ(parse_duration("2w", 24h), std::chrono::seconds(14 * 86400));
    EXPECT_EQ(parse_duration("90m", 24h), 90min);
    EXPECT_EQ(parse_duration("600", 1s), 600s);
    EXPECT_EQ(parse_duration("0", 24h), 0s);
    for (const char* bad : {"", "h", "-1", "+1", "1e3", "7 d", "7x", "1..5", ".", "36hh", "999999999"}) {
        EXPECT_FALSE(parse_duration(bad, 24h)) << bad;
    }
    EXPECT_EQ(format_duration(std::chrono::seconds(7 * 86400)), "7d");
    EXPECT_EQ(format_duration(36h), "36h");
    EXPECT_EQ(format_duration(90min), "90m");
    EXPECT_EQ(format_duration(0s), "0");
}

TEST(StoreConfig, ParsesEveryKey)
{
    const Config c = parse_config(R"(# pvediff configuration

fullbackup: 7
max-diff-ratio: 0.4
compress: zstd
zstd-threads: 4
frame-fulls: 0
engine: chunk
lock-timeout: 10m
verify: structure
keep-daily: 7
keep-weekly: 4
hook-script: /usr/local/bin/other-hook
hook-phase: backup-end
dumpdir: /mnt/pve/a  /mnt/pve/b
tmpdir: /var/tmp/pvediff
   vmid-101-fullbackup: 0
vmid-102-keep-last: 3
vmid-103-fullbackup: 36h
vmid-103-frame-fulls: yes
)",
                                  "test.conf");
    const EffectiveSettings g = c.effective_global();
    EXPECT_EQ(g.fullbackup, std::chrono::seconds(7 * 86400));
    EXPECT_DOUBLE_EQ(g.max_diff_ratio, 0.4);
    EXPECT_EQ(g.compress, CompressChoice::zstd);
    EXPECT_EQ(g.zstd_threads, 4);
    EXPECT_FALSE(g.frame_fulls);
    EXPECT_EQ(g.engine, "chunk");
    EXPECT_EQ(g.lock_timeout, 600s);
    EXPECT_EQ(g.verify, VerifyLevel::structure);
    EXPECT_EQ(g.keep.str(), "keep-daily=7,keep-weekly=4");
    EXPECT_EQ(g.hook_script, "/usr/local/bin/other-hook");
    EXPECT_EQ(g.hook_phase, HookPhase::backup_end);
    EXPECT_EQ(g.dumpdirs, (std::vector<std::string>{"/mnt/pve/a", "/mnt/pve/b"}));
    EXPECT_EQ(g.tmpdir, "/var/tmp/pvediff");
    EXPECT_EQ(c.effective_for(101).tmpdir, g.tmpdir);                      // global only, but every guest's
    EXPECT_TRUE(parse_config("", "x").effective_global().tmpdir.empty());  // default: beside the full

    EXPECT_EQ(c.effective_for(101).fullbackup, 0s);
    EXPECT_EQ(c.effective_for(101).keep, g.keep);
    EXPECT_EQ(c.effective_for(103).fullbackup, 36h);
    EXPECT_TRUE(c.effective_for(103).frame_fulls);
    // Retention replaces as a unit: 102 keeps only the last 3.
    EXPECT_EQ(c.effective_for(102).keep.str(), "keep-last=3");
    EXPECT_EQ(c.effective_for(102).fullbackup, g.fullbackup);
    EXPECT_EQ(c.effective_for(999).fullbackup, g.fullbackup);
}

TEST(StoreConfig, DefaultsAndCommandLineOverrides)
{
    const EffectiveSettings d = Config{}.effective_for(100);
    EXPECT_EQ(d.fullbackup, 0s);
    EXPECT_DOUBLE_EQ(d.max_diff_ratio, 0.5);
    EXPECT_EQ(d.compress, CompressChoice::same);
    EXPECT_EQ(d.zstd_threads, 1);
    EXPECT_TRUE(d.frame_fulls);
    EXPECT_EQ(d.lock_timeout, 3600s);
    EXPECT_EQ(d.verify, VerifyLevel::content);
    EXPECT_TRUE(d.keep.keeps_everything());
    EXPECT_EQ(d.hook_phase, HookPhase::log_end);

    const Config c =
        parse_config("fullbackup: 7\nvmid-101-fullbackup: 2\nkeep-daily: 7\nkeep-monthly: 6\n", "x");
    Settings cli;
    apply_setting(cli, "keep-last", "2");
    apply_setting(cli, "compress", "lzo");
    const EffectiveSettings e = c.effective_for(101, cli);
    EXPECT_EQ(e.fullbackup, 48h);
    EXPECT_EQ(e.keep.str(), "keep-last=2");  // the command line's retention replaces the file's
    EXPECT_EQ(e.compress, CompressChoice::lzo);
    EXPECT_EQ(differential_codec(e.compress, io::Codec::zstd), io::Codec::lzo);
    EXPECT_EQ(differential_codec(CompressChoice::same, io::Codec::gzip), io::Codec::gzip);
    Settings fb;
    apply_setting(fb, "fullbackup", "0");
    EXPECT_EQ(c.effective_for(101, fb).fullbackup, 0s);
    EXPECT_EQ(c.effective_for(101, fb).keep.str(), "keep-daily=7,keep-monthly=6");
}

TEST(StoreConfig, PruneBackupsSpelling)
{
    const Config c =
        parse_config("prune-backups: keep-last=3,keep-weekly=2\nvmid-7-prune-backups: keep-all=1\n", "x");
    EXPECT_EQ(c.effective_global().keep.str(), "keep-last=3,keep-weekly=2");
    EXPECT_TRUE(c.effective_for(7).keep.keeps_everything());
    EXPECT_NE(error_of("prune-backups: keep-last=3\nkeep-daily: 2\n")
                  .find("line 2: use either prune-backups or keep-*"),
              std::string::npos);
    EXPECT_NE(error_of("prune-backups: keep-last=3,keep-last=4\n").find("line 1:"), std::string::npos);
    EXPECT_NE(error_of("keep-all: 1\nkeep-daily: 2\n").find("line 2: keep-all: 1 cannot be combined"),
              std::string::npos);
}

// keep-all and frame-fulls are switches, spelled as PVE's configs spell them; keep-all
// also inside prune-backups, where PVE's vzdump.conf and storage.cfg have it.
TEST(StoreConfig, SwitchesTakePveSpellings)
{
    for (const char* on : {"1", "yes", "on", "true", "Yes", "TRUE"}) {
        SCOPED_TRACE(on);
        EXPECT_TRUE(
            parse_config(fmt::format("vmid-7-frame-fulls: {}\n", on), "x").effective_for(7).frame_fulls);
        EXPECT_TRUE(
            parse_config(fmt::format("keep-all: {}\n", on), "x").effective_global().keep.keeps_everything());
        EXPECT_TRUE(parse_config(fmt::format("prune-backups: keep-all={}\n", on), "x")
                        .effective_global()
                        .keep.keeps_everything());
    }
    for (const char* off : {"0", "no", "off", "false", "No"}) {
        SCOPED_TRACE(off);
        EXPECT_FALSE(parse_config(fmt::format("frame-fulls: {}\n", off), "x").effective_global().frame_fulls);
        EXPECT_EQ(parse_config(fmt::format("keep-all: {}\nkeep-daily: 2\n", off), "x")
                      .effective_global()
                      .keep.str(),
                  "keep-daily=2");
    }
    for (const char* bad : {"", "2", "y", "enabled", "1x"}) {
        SCOPED_TRACE(bad);
        EXPECT_NE(error_of(fmt::format("keep-all: {}\n", bad)).find("bad value for keep-all"),
                  std::string::npos);
        EXPECT_NE(error_of(fmt::format("frame-fulls: {}\n", bad)).find("bad value for frame-fulls"),
                  std::string::npos);
    }
}

TEST(StoreConfig, ErrorsNameFileAndLine)
{
    EXPECT_EQ(error_of("fullbackup: 7\n\n# c\nfulbackup: 7\n"),
              "'/etc/pvediff.conf': line 4: unknown key 'fulbackup'");
    EXPECT_EQ(
        error_of("fullbackup: seven\n"),
        "'/etc/pvediff.conf': line 1: bad value for fullbackup: 'seven' (expected days as a number, or a "
        "duration like 36h, 2d, 2w)");
    EXPECT_EQ(error_of("fullbackup: 7 # weekly\n"),
              "'/etc/pvediff.conf': line 1: bad value for fullbackup: '7 # weekly' (expected days as a "
              "number, or a "
              "duration like 36h, 2d, 2w)");
    EXPECT_EQ(error_of("fullbackup 7\n"), "'/etc/pvediff.conf': line 1: expected 'key: value'");
    EXPECT_EQ(error_of("keep-daily: 7\nkeep-daily: 8\n"),
              "'/etc/pvediff.conf': line 2: 'keep-daily' given twice (first on line 1)");
    EXPECT_NE(error_of("max-diff-ratio: 1.5\n").find("line 1: bad value for max-diff-ratio"),
              std::string::npos);
    EXPECT_NE(error_of("max-diff-ratio: 0\n").find("line 1: bad value for max-diff-ratio"),
              std::string::npos);
    EXPECT_NE(error_of("compress: xz\n").find("bad value for compress"), std::string::npos);
    EXPECT_NE(error_of("verify: no\n").find("line 1: verify cannot be switched off"), std::string::npos);
    EXPECT_NE(error_of("hook-script: hook.sh\n").find("expected an absolute path"), std::string::npos);
    EXPECT_NE(error_of("keep-daily: -1\n").find("bad value for keep-daily"), std::string::npos);
    EXPECT_NE(error_of("zstd-threads: 1000\n").find("bad value for zstd-threads"), std::string::npos);
    EXPECT_NE(error_of("frame-fulls: maybe\n").find("bad value for frame-fulls"), std::string::npos);
    EXPECT_NE(error_of("lock-timeout: soon\n").find("bad value for lock-timeout"), std::string::npos);
    EXPECT_EQ(error_of("vmid-101-hook-script: /x\n"),
              "'/etc/pvediff.conf': line 1: 'hook-script' cannot be set per guest");
    EXPECT_NE(error_of("vmid-abc-fullbackup: 1\n").find("line 1: bad key 'vmid-abc-fullbackup'"),
              std::string::npos);
    EXPECT_NE(error_of("vmid-101-: 1\n").find("bad key"), std::string::npos);
    EXPECT_NE(error_of("vmid-0101-fullbackup: 1\n").find("bad key"), std::string::npos);
    EXPECT_NE(error_of("vmid-101-bogus: 1\n").find("line 1: unknown key 'bogus'"), std::string::npos);
    EXPECT_EQ(error_of("vmid-101-fullbackup: 1\nvmid-101-fullbackup: 2\n"),
              "'/etc/pvediff.conf': line 2: 'vmid-101-fullbackup' given twice (first on line 1)");
    EXPECT_EQ(error_of("fullbackup: 1\nvmid-101-fullbackup: 2\n"), "no error");
}

TEST(StoreConfig, LoadsFromAFile)
{
    test::TempDir dir;
    EXPECT_TRUE(load_config(dir / "missing.conf", false).per_vmid.empty());
    EXPECT_THROW((void)load_config(dir / "missing.conf", true), io::Error);
    test::touch(dir / "p.conf", "fullbackup: 2w\nvmid-5-fullbackup: 0\n");
    const Config c = load_config(dir / "p.conf", true);
    EXPECT_EQ(c.effective_for(4).fullbackup, std::chrono::seconds(14 * 86400));
    EXPECT_EQ(c.effective_for(5).fullbackup, 0s);
    test::touch(dir / "bad.conf", "\n\nbogus: 1\n");
    try {
        (void)load_config(dir / "bad.conf", false);
        FAIL();
    } catch (const io::Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "'" + (dir / "bad.conf").string() + "': line 3: unknown key 'bogus'");
    }
}

}  // namespace
