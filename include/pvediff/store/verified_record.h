// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The last `pvediff verify` result of a backup, kept beside it as
// "<backup>.pvediff-verified" (entry_name's verified_suffix), so the nightly verify
// reads only what is new, failed, changed or due instead of every chain every night.
//
// A record is only trusted for the file it was made of: it carries the backup's size,
// mtime and (when it has a manifest) the manifest's content SHA-256, taken before the
// check. A backup rewritten since (by another host on a shared dump dir, by hand)
// differs in one of them and is checked again: it never inherits an old "ok". A
// record that cannot be read or parsed (a link, a FIFO, too large, garbage) is no
// record: the backup is checked, and the new result replaces it.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "pvediff/io/sha256.h"

namespace pvediff::store {

// What a backup file is now, as far as a record needs to know.
struct BackupIdentity {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;                  // st_mtim, in nanoseconds
    std::optional<io::Digest> manifest_sha256;  // the manifest's content SHA-256
    friend bool operator==(const BackupIdentity&, const BackupIdentity&) = default;
};

struct VerifiedRecord {
    std::string file;          // the backup's name (a record for another name is refused)
    std::time_t verified = 0;  // when the check ended
    bool ok = false;
    BackupIdentity identity;  // of the file as it was checked
    friend bool operator==(const VerifiedRecord&, const VerifiedRecord&) = default;
};

// A record is a few hundred bytes; anything larger is not one.
inline constexpr std::size_t verified_record_max_size = 4096;

std::string format_verified_record(const VerifiedRecord& r);
// Throws io::Error "'<origin>': line N: ..." on anything malformed.
VerifiedRecord parse_verified_record(std::string_view text, const std::string& origin);

// "<file>.pvediff-verified"
std::filesystem::path verified_record_path(const std::filesystem::path& file);
// The identity of `file` now (lstat: never follows a link); `manifest_sha256` from its manifest.
BackupIdentity backup_identity_of(const std::filesystem::path& file,
                                  std::optional<io::Digest> manifest_sha256);
// The record of `file`: nullopt when there is none; io::Error when it is not a
// regular file, too large, malformed, or names another backup.
std::optional<VerifiedRecord> read_verified_record(const std::filesystem::path& file);
// Writes the record atomically (temp name, fsync, rename), with the backup's mode and owner.
void write_verified_record(const std::filesystem::path& file, const VerifiedRecord& r);

// Whether `verify` (without --all) checks a backup now, and why.
enum class VerifyReason {
    never_verified,      // no record (or an unusable one)
    failed_before,       // the last check failed: checked every run
    changed,             // the file is not the one the record was made of
    due,                 // the last check is older than verify-every (or it is 0)
    recorded_in_future,  // the record's time is ahead of the clock: not trusted
    recently_ok,         // skip: checked ok within verify-every, file unchanged
};
struct VerifyDecision {
    bool check = true;
    VerifyReason reason = VerifyReason::never_verified;
};
VerifyDecision decide_verify(const std::optional<VerifiedRecord>& record, const BackupIdentity& now_identity,
                             std::time_t now, std::chrono::seconds verify_every);
// "never verified", "failed last time", "changed since verified", ...
std::string_view verify_reason_text(VerifyReason reason);

}  // namespace pvediff::store
