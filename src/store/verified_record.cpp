// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/verified_record.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include "kv_lines.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/parse_number.h"
#include "pvediff/store/entry_name.h"

namespace pvediff::store {

std::string format_verified_record(const VerifiedRecord& r)
{
    return fmt::format(
        "# pvediff verify result: the backup is checked again when it changes, failed, or this is old\n"
        "file: {}\nverified: {}\nresult: {}\nfile-size: {}\nfile-mtime-ns: {}\nmanifest-sha256: {}\n",
        r.file, static_cast<std::int64_t>(r.verified), r.ok ? "ok" : "failed", r.identity.size,
        r.identity.mtime_ns, r.identity.manifest_sha256 ? io::to_hex(*r.identity.manifest_sha256) : "-");
}

VerifiedRecord parse_verified_record(std::string_view text, const std::string& origin)
{
    VerifiedRecord r;
    bool seen_file = false, seen_time = false, seen_result = false, seen_size = false, seen_mtime = false,
         seen_sha = false;
    for (const auto& kv : detail::parse_kv_lines(text, origin)) {
        const auto bad = [&] {
            detail::throw_line_error(origin, kv.line, fmt::format("bad {} '{}'", kv.key, kv.value));
        };
        const auto once = [&](bool& seen) {
            if (seen) {
                detail::throw_line_error(origin, kv.line, fmt::format("repeated key '{}'", kv.key));
            }
            seen = true;
        };
        if (kv.key == "file") {
            once(seen_file);
            r.file = kv.value;
        } else if (kv.key == "verified") {
            once(seen_time);
            const auto t = io::parse_number<std::int64_t>(kv.value);
            if (!t || *t < 0) {
                bad();
            }
            r.verified = static_cast<std::time_t>(*t);
        } else if (kv.key == "result") {
            once(seen_result);
            if (kv.value != "ok" && kv.value != "failed") {
                bad();
            }
            r.ok = kv.value == "ok";
        } else if (kv.key == "file-size") {
            once(seen_size);
            const auto n = io::parse_number<std::uint64_t>(kv.value);
            if (!n) {
                bad();
            }
            r.identity.size = *n;
        } else if (kv.key == "file-mtime-ns") {
            once(seen_mtime);
            const auto n = io::parse_number<std::int64_t>(kv.value);
            if (!n) {
                bad();
            }
            r.identity.mtime_ns = *n;
        } else if (kv.key == "manifest-sha256") {
            once(seen_sha);
            if (kv.value != "-") {
                try {
                    r.identity.manifest_sha256 = io::digest_from_hex(kv.value);
                } catch (const io::Error&) {
                    bad();
                }
            }
        } else {
            detail::throw_line_error(origin, kv.line, fmt::format("unknown key '{}'", kv.key));
        }
    }
    if (!(seen_file && seen_time && seen_result && seen_size && seen_mtime && seen_sha)) {
        throw io::file_error(origin,
                             "incomplete verify record (file, verified, result, file-size, "
                             "file-mtime-ns and manifest-sha256 are required)");
    }
    return r;
}

std::filesystem::path verified_record_path(const std::filesystem::path& file)
{
    return file.parent_path() / (file.filename().string() + std::string(verified_suffix));
}

BackupIdentity backup_identity_of(const std::filesystem::path& file,
                                  std::optional<io::Digest> manifest_sha256)
{
    const io::DirHandle dir = io::DirHandle::of(file);
    const auto st = dir.stat_entry(file.filename().string());
    if (!st) {
        throw io::file_error(file.string(), "no such file");
    }
    BackupIdentity id;
    id.size = static_cast<std::uint64_t>(st->st_size);
    id.mtime_ns = static_cast<std::int64_t>(st->st_mtim.tv_sec) * 1'000'000'000 + st->st_mtim.tv_nsec;
    id.manifest_sha256 = manifest_sha256;
    return id;
}

std::optional<VerifiedRecord> read_verified_record(const std::filesystem::path& file)
{
    const auto path = verified_record_path(file);
    const auto text = detail::read_sidecar_if_exists(path, verified_record_max_size);
    if (!text) {
        return std::nullopt;
    }
    VerifiedRecord r = parse_verified_record(*text, path.string());
    if (r.file != file.filename().string()) {
        throw io::file_error(path.string(), "describes '{}', not '{}'", r.file, file.filename().string());
    }
    return r;
}

void write_verified_record(const std::filesystem::path& file, const VerifiedRecord& r)
{
    io::write_file_atomic(verified_record_path(file), format_verified_record(r), io::mode_like(file));
}

VerifyDecision decide_verify(const std::optional<VerifiedRecord>& record, const BackupIdentity& now_identity,
                             std::time_t now, std::chrono::seconds verify_every)
{
    if (!record) {
        return {true, VerifyReason::never_verified};
    }
    if (!record->ok) {
        return {true, VerifyReason::failed_before};
    }
    if (record->identity != now_identity) {
        return {true, VerifyReason::changed};
    }
    if (record->verified > now) {
        return {true, VerifyReason::recorded_in_future};
    }
    if (verify_every.count() <= 0 || now - record->verified >= verify_every.count()) {
        return {true, VerifyReason::due};
    }
    return {false, VerifyReason::recently_ok};
}

std::string_view verify_reason_text(VerifyReason reason)
{
    switch (reason) {
        case VerifyReason::never_verified:
            return "never verified";
        case VerifyReason::failed_before:
            return "failed last time";
        case VerifyReason::changed:
            return "changed since it was verified";
        case VerifyReason::due:
            return "last verified longer ago than verify-every";
        case VerifyReason::recorded_in_future:
            return "recorded verify time is in the future";
        case VerifyReason::recently_ok:
            return "verified recently";
    }
    return "?";
}

}  // namespace pvediff::store
