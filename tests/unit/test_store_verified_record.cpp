// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "pvediff/io/error.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/verified_record.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;
using namespace std::chrono_literals;
using pvediff::test::touch;

namespace {

const std::string full_name = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";

VerifiedRecord sample_record()
{
    VerifiedRecord r;
    r.file = full_name;
    r.verified = 1795136405;
    r.ok = true;
    r.identity.size = 123456789012ULL;
    r.identity.mtime_ns = 1795136400123456789LL;
    io::Digest d;
    d.fill(0xab);
    r.identity.manifest_sha256 = d;
    return r;
}

std::string record_error(std::string_view text)
{
    try {
        (void)parse_verified_record(text, "/d/x.pvediff-verified");
    } catch (const io::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(VerifiedRecord, FormatParseRoundTrip)
{
    const VerifiedRecord r = sample_record();
    EXPECT_EQ(parse_verified_record(format_verified_record(r), "x"), r);
    VerifiedRecord no_manifest = r;
    no_manifest.identity.manifest_sha256.reset();
    no_manifest.ok = false;
    EXPECT_EQ(parse_verified_record(format_verified_record(no_manifest), "x"), no_manifest);
}

TEST(VerifiedRecord, MalformedIsRefusedNamingTheFile)
{
    const std::string good = format_verified_record(sample_record());
    EXPECT_NE(record_error("garbage without colon\n"), "");
    EXPECT_NE(record_error(""), "");  // incomplete
    std::string s = good;
    s.replace(s.find("result: ok"), 10, "result: ok!");
    EXPECT_NE(record_error(s).find("bad result"), std::string::npos) << record_error(s);
    s = good;
    s.replace(s.find("verified: "), 10, "verified: -");
    EXPECT_NE(record_error(s), "");
    EXPECT_NE(record_error(good + "result: ok\n").find("repeated"), std::string::npos);
    EXPECT_NE(record_error(good + "trust-me: yes\n").find("unknown key"), std::string::npos);
    EXPECT_EQ(record_error(good), "");
    s = good;
    s.replace(s.find("manifest-sha256: "), 17, "manifest-sha256: zz");
    EXPECT_NE(record_error(s).find("/d/x.pvediff-verified"), std::string::npos);
}

TEST(VerifiedRecord, Decision)
{
    const VerifiedRecord r = sample_record();
    const BackupIdentity same = r.identity;
    const std::time_t t = r.verified;
    EXPECT_EQ(decide_verify(std::nullopt, same, t, 30 * 24h).reason, VerifyReason::never_verified);
    EXPECT_TRUE(decide_verify(std::nullopt, same, t, 30 * 24h).check);

    const auto recent = decide_verify(r, same, t + 3 * 86400, 30 * 24h);
    EXPECT_FALSE(recent.check);
    EXPECT_EQ(recent.reason, VerifyReason::recently_ok);

    EXPECT_TRUE(decide_verify(r, same, t + 30 * 86400, 30 * 24h).check);
    EXPECT_EQ(decide_verify(r, same, t + 31 * 86400, 30 * 24h).reason, VerifyReason::due);
    EXPECT_EQ(decide_verify(r, same, t + 1, 0s).reason, VerifyReason::due);  // 0 = always

    VerifiedRecord failed = r;
    failed.ok = false;
    EXPECT_EQ(decide_verify(failed, same, t + 1, 30 * 24h).reason, VerifyReason::failed_before);

    for (int field = 0; field < 3; ++field) {
        BackupIdentity other = same;
        if (field == 0)
            other.size += 1;
        if (field == 1)
            other.mtime_ns += 1;
        if (field == 2)
            other.manifest_sha256->at(0) ^= 1;
        const auto d = decide_verify(r, other, t + 1, 30 * 24h);
        EXPECT_TRUE(d.check) << field;
        EXPECT_EQ(d.reason, VerifyReason::changed) << field;
    }
    EXPECT_EQ(decide_verify(r, same, t - 100, 30 * 24h).reason, VerifyReason::recorded_in_future);
}

TEST(VerifiedRecord, WriteReadAndHostileRecords)
{
    test::TempDir tmp;
    const auto file = tmp.path() / full_name;
    touch(file, "archive bytes");
    ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
    EXPECT_FALSE(read_verified_record(file));

    VerifiedRecord r = sample_record();
    r.identity = backup_identity_of(file, std::nullopt);
    EXPECT_EQ(r.identity.size, 13u);
    write_verified_record(file, r);
    EXPECT_EQ(read_verified_record(file), r);
    struct stat st {};
    ASSERT_EQ(::stat(verified_record_path(file).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);  // the backup's mode

    // A record of another backup, a link, a huge file: refused, never trusted.
    const auto rec = verified_record_path(file);
    VerifiedRecord other = r;
    other.file = "vzdump-qemu-101-2026_11_21-01_00_00.vma.zst";
    touch(rec, format_verified_record(other));
    EXPECT_THROW((void)read_verified_record(file), io::Error);
    std::filesystem::remove(rec);
    const auto elsewhere = tmp.path() / "elsewhere";
    touch(elsewhere, format_verified_record(r));
    std::filesystem::create_symlink(elsewhere, rec);
    EXPECT_THROW((void)read_verified_record(file), io::Error);
    std::filesystem::remove(rec);
    touch(rec, format_verified_record(r) + std::string(verified_record_max_size, '#'));
    EXPECT_THROW((void)read_verified_record(file), io::Error);
    std::filesystem::remove(rec);
    ASSERT_EQ(::mkfifo(rec.c_str(), 0600), 0);
    EXPECT_THROW((void)read_verified_record(file), io::Error);
}

TEST(VerifiedRecord, IsASidecarThatGoesWithItsBackup)
{
    const auto e = classify_entry_name(full_name + ".pvediff-verified");
    EXPECT_EQ(e.kind, EntryKind::verified_record);
    EXPECT_EQ(e.owner, full_name);
    EXPECT_EQ(entry_kind_name(e.kind), "verified");

    test::TempDir tmp;
    touch(tmp.path() / full_name, "x");
    touch(tmp.path() / (full_name + ".pvediff-verified"), "x");
    touch(tmp.path() / "vzdump-qemu-101-2026_11_19-01_00_00.vma.zst.pvediff-verified", "x");
    const DumpDir d = scan_dump_dir(tmp.path());
    ASSERT_EQ(d.guests.size(), 1u);
    ASSERT_EQ(d.guests[0].chains.size(), 1u);
    const auto& sc = d.guests[0].chains[0].full.sidecars;
    ASSERT_TRUE(sc.verified);
    const auto removable = sc.removable_files();
    EXPECT_NE(std::find(removable.begin(), removable.end(), full_name + ".pvediff-verified"),
              removable.end());
    ASSERT_EQ(d.guests[0].orphan_sidecars.size(), 1u);
    EXPECT_EQ(d.guests[0].orphan_sidecars[0].name,
              "vzdump-qemu-101-2026_11_19-01_00_00.vma.zst.pvediff-verified");
}
