// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/verify.h"

#include <fmt/format.h>

#include <algorithm>

#include "pvediff/commands/content_check.h"
#include "pvediff/commands/content_digest.h"
#include "pvediff/commands/progress_scope.h"
#include "pvediff/commands/scratch_dir.h"
#include "pvediff/io/error.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/manifest.h"
#include "pvediff/store/names.h"
#include "pvediff/store/verified_record.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

void take_structure(VerifyItem& item, const ContentCheck& c)
{
    item.content_size = c.size;
    item.structure = c.summary;
    if (!c.structure_ok) {
        item.ok = false;
    }
    item.problems.insert(item.problems.end(), c.problems.begin(), c.problems.end());
}

void compare_content(VerifyItem& item, const std::optional<store::Manifest>& m, const ContentCheck& c)
{
    if (!m) {
        item.content = "no manifest";
        return;
    }
    item.content_digest = store::content_digest_name(m->content_digest);
    const auto wrong = content_digest_mismatch(*m, c.size, c.digest, c.digest_none);
    if (!wrong) {
        item.content = "ok";
        return;
    }
    item.content = "MISMATCH";
    item.ok = false;
    item.problems.push_back(*wrong);
}

VerifyItem new_item(const fs::path& path, const std::string& kind)
{
    VerifyItem item;
    item.file = path.filename().string();
    item.kind = kind;
    item.content = "-";
    item.structure = "-";
    item.ok = true;
    item.dir = path.parent_path().string();
    return item;
}

VerifyItem verify_full(const fs::path& path, const Report& progress, const OnContentBytes& on_bytes)
{
    VerifyItem item = new_item(path, "full");
    progress("verifying " + item.file);
    try {
        item.file_size = fs::file_size(path);
        // The manifest says which digest to take; one that cannot be read is reported
        // after the structure check, which does not need it.
        std::optional<store::Manifest> manifest;
        std::string manifest_error;
        try {
            manifest = store::read_manifest(path);
        } catch (const io::Error& e) {
            manifest_error = e.what();
        }
        const ContentCheck c = check_archive_file(
            path, on_bytes, manifest ? manifest->content_digest : store::ContentDigest::sha256);
        take_structure(item, c);
        if (!manifest_error.empty()) {
            throw io::Error(manifest_error);
        }
        compare_content(item, manifest, c);
    } catch (const std::exception& e) {
        item.ok = false;
        item.problems.push_back(e.what());
    }
    return item;
}

// `tmpdir`: where the decoder's scratch files go (scratch_dir.h).
VerifyItem verify_differential(const fs::path& path, const std::string& tmpdir, const Report& progress,
                               const OnContentBytes& on_bytes)
{
    VerifyItem item = new_item(path, "differential");
    progress("verifying " + item.file);
    try {
        item.file_size = fs::file_size(path);
        const auto name = store::parse_differential_name(item.file);
        const fs::path full = path.parent_path() / name->full_file;
        if (!fs::exists(full)) {
            throw io::Error("its full '" + name->full_file +
                            "' is missing: this differential cannot be restored");
        }
        const auto manifest = store::read_manifest(path);
        // A full replaced by another archive of the same name (with its own manifest)
        // would only show as "window checksum mismatch": say what it is, without decoding.
        if (manifest && manifest->delta) {
            if (const auto full_manifest = store::read_manifest(full)) {
                if (const auto wrong = store::full_mismatch(name->full_file, full_manifest->content_sha256,
                                                            manifest->delta->full_content_sha256, "it")) {
                    throw io::Error(*wrong);
                }
            }
        }
        const ContentCheck c = check_differential(
            full, path, scratch_dir(tmpdir, path.parent_path()), manifest_sizes(full, manifest), on_bytes,
            manifest ? manifest->content_digest : store::ContentDigest::sha256);
        take_structure(item, c);
        compare_content(item, manifest, c);
        if (manifest && manifest->delta) {
            if (const auto wrong = store::full_mismatch(name->full_file, c.base_sha256,
                                                        manifest->delta->full_content_sha256, "it")) {
                item.ok = false;
                item.problems.push_back(*wrong);
            }
        }
        if (!manifest) {
            item.content = "no manifest (window checksums ok)";
        }
    } catch (const std::exception& e) {
        item.ok = false;
        item.problems.push_back(e.what());
    }
    return item;
}

// One backup to look at: what it is now and what its record says.
struct Candidate {
    fs::path path;
    bool differential = false;
    std::uint32_t vmid = 0;
    std::optional<store::BackupIdentity> identity;  // nullopt: could not stat (the check will say why)
    std::optional<store::VerifiedRecord> record;
    std::string record_problem;  // a record that could not be used, and why
    store::VerifyDecision decision;
    std::optional<std::uint64_t> content_size;  // from the manifest, for the progress total
    std::string forced_reason;                  // checked whatever the record says: why
    bool in_dir = true;                         // found by scanning a dump dir (not named)
};

Candidate inspect(const fs::path& path, bool differential, std::uint32_t vmid)
{
    Candidate c;
    c.path = path;
    c.differential = differential;
    c.vmid = vmid;
    const auto manifest = store::read_manifest_or_none(path);
    if (manifest) {
        c.content_size = manifest->content_size;
    }
    try {
        c.identity = store::backup_identity_of(
            path, manifest ? std::optional(manifest->content_sha256) : std::nullopt);
    } catch (const std::exception&) {
        c.identity.reset();
    }
    // A record that is a link, a FIFO, too large or garbage is no record: never trusted.
    try {
        c.record = store::read_verified_record(path);
    } catch (const std::exception& e) {
        c.record_problem = e.what();
    }
    return c;
}

std::string days_text(std::int64_t seconds)
{
    const double days = static_cast<double>(seconds) / 86400.0;
    return days < 1.0 ? fmt::format("{:.0f} h", static_cast<double>(seconds) / 3600.0)
                      : fmt::format("{:.0f} d", days);
}

// Checks one candidate, records the result, adds it to the report.
class Checker {
public:
    Checker(VerifyReport& report, const Report& log, const VerifyOptions& options)
        : report_(report), log_(log), options_(options)
    {
    }

    void run(const std::vector<Candidate>& all)
    {
        std::vector<const Candidate*> to_check;
        std::optional<std::uint64_t> total = 0;
        for (const auto& c : all) {
            if (!c.decision.check) {
                report_.items.push_back(skipped_item(c));
                continue;
            }
            to_check.push_back(&c);
            total = c.content_size && total ? std::optional(*total + *c.content_size) : std::nullopt;
        }
        if (to_check.empty()) {
            return;
        }
        ProgressScope shown(
            options_.progress,
            fmt::format("verify {} backup{}", to_check.size(), to_check.size() == 1 ? "" : "s"), total);
        const auto update = shown.updater();
        std::uint64_t before = 0;
        for (const Candidate* c : to_check) {
            OnContentBytes on_bytes;
            if (update) {
                on_bytes = [&update, &before](std::uint64_t done) { update(before + done); };
            }
            before += check(*c, on_bytes);
        }
        shown.finish();
    }

private:
    VerifyItem skipped_item(const Candidate& c)
    {
        VerifyItem item = new_item(c.path, c.differential ? "differential" : "full");
        item.file_size = c.identity ? c.identity->size : 0;
        item.content_size = c.content_size.value_or(0);
        item.skipped = true;
        item.ok = true;
        item.verified_at = c.record->verified;
        item.next_due = c.record->verified + options_.every_for(c.vmid).count();
        item.reason = fmt::format("verified {} ago, next in {}", days_text(options_.now - *item.verified_at),
                                  days_text(*item.next_due - options_.now));
        log_(fmt::format("skipping {}: {}", item.file, item.reason));
        return item;
    }

    // Returns the content bytes read.
    std::uint64_t check(const Candidate& c, const OnContentBytes& on_bytes)
    {
        VerifyItem item = c.differential ? verify_differential(c.path, options_.tmpdir, log_, on_bytes)
                                         : verify_full(c.path, log_, on_bytes);
        const std::string why = c.forced_reason.empty()
                                    ? std::string(store::verify_reason_text(c.decision.reason))
                                    : c.forced_reason;
        item.reason = c.record_problem.empty()
                          ? why
                          : fmt::format("{} (its record is unusable: {})", why, c.record_problem);
        std::error_code ec;
        if (c.in_dir && !item.ok && !fs::exists(c.path, ec) && !ec) {
            // verify takes no lock: a backup that prune (or a backup replacing its
            // archive) removed while we read it is gone, not damaged.
            log_(item.file + ": removed while being verified (by another process), skipped");
            return 0;
        }
        record(c, item);
        const std::uint64_t read = item.content_size;
        report_.items.push_back(std::move(item));
        return read;
    }

    // The identity recorded is the one taken before the check: a file rewritten while
    // it was read differs from it and is checked again next time.
    void record(const Candidate& c, VerifyItem& item)
    {
        if (!options_.record || !c.identity) {
            return;
        }
        store::VerifiedRecord r;
        r.file = c.path.filename().string();
        r.verified = std::time(nullptr);
        r.ok = item.ok;
        r.identity = *c.identity;
        try {
            store::write_verified_record(c.path, r);
            item.verified_at = r.verified;
        } catch (const std::exception& e) {
            // Not a failure of the backup: it is checked again next time.
            log_(fmt::format("warning: could not record the result of {}: {}", item.file, e.what()));
        }
    }

    VerifyReport& report_;
    const Report& log_;
    const VerifyOptions& options_;
};

void decide(Candidate& c, const VerifyOptions& options)
{
    if (options.all) {
        c.decision = {true, store::VerifyReason::due};
        c.forced_reason = c.in_dir ? "--all" : "named on the command line";
        return;
    }
    if (!c.identity) {
        c.decision = {true, store::VerifyReason::never_verified};
        return;
    }
    c.decision = store::decide_verify(c.record, *c.identity, options.now, options.every_for(c.vmid));
}

void verify_dir(const fs::path& dir, VerifyReport& report, const Report& progress,
                const VerifyOptions& options)
{
    const store::DumpDir scanned = store::scan_dump_dir(dir);
    std::vector<Candidate> candidates;
    for (const auto& guest : scanned.guests) {
        for (const auto& chain : guest.chains) {
            if (!store::to_io_codec(chain.full.name.codec)) {
                continue;  // bzip2: not pvediff's
            }
            candidates.push_back(inspect(dir / chain.full.file, false, guest.guest.vmid));
            for (const auto& d : chain.differentials) {
                candidates.push_back(inspect(dir / d.file, true, guest.guest.vmid));
            }
        }
    }
    for (auto& c : candidates) {
        decide(c, options);
    }
    // A differential is only as good as its full: when the full is checked because it
    // is new, changed or failed, its differentials are checked with it.
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const Candidate& full = candidates[i];
        if (full.differential || !full.decision.check || full.decision.reason == store::VerifyReason::due) {
            continue;
        }
        for (std::size_t j = i + 1; j < candidates.size() && candidates[j].differential; ++j) {
            if (!candidates[j].decision.check) {
                candidates[j].decision = {true, full.decision.reason};
                candidates[j].forced_reason =
                    fmt::format("its full: {}", store::verify_reason_text(full.decision.reason));
            }
        }
    }
    Checker(report, progress, options).run(candidates);
    for (const auto& guest : scanned.guests) {
        for (const auto& d : guest.orphan_differentials) {
            VerifyItem item = new_item(dir / d.file, "differential");
            item.file_size = d.size;
            item.ok = false;
            item.reason = "orphan";
            item.problems.push_back("orphan: its full '" + d.name.full_file + "' is missing");
            report.items.push_back(item);
        }
    }
}

}  // namespace

bool VerifyReport::ok() const
{
    return std::all_of(items.begin(), items.end(), [](const VerifyItem& i) { return i.ok; });
}

std::size_t VerifyReport::checked() const
{
    return static_cast<std::size_t>(
        std::count_if(items.begin(), items.end(), [](const VerifyItem& i) { return !i.skipped; }));
}

std::size_t VerifyReport::skipped() const
{
    return items.size() - checked();
}

std::size_t VerifyReport::failed() const
{
    return static_cast<std::size_t>(
        std::count_if(items.begin(), items.end(), [](const VerifyItem& i) { return !i.ok; }));
}

VerifyReport verify_paths(const std::vector<fs::path>& paths, const Report& progress,
                          const VerifyOptions& options)
{
    (void)scratch_dir(options.tmpdir, {});  // a tmpdir that is not there fails before any work
    VerifyReport report;
    for (const auto& p : paths) {
        if (fs::is_directory(p)) {
            verify_dir(fs::absolute(p), report, progress, options);
            continue;
        }
        // A file named on its own is always checked, and its result is not recorded:
        // it may be anywhere (a copy, a fixture, a read-only medium), not in a dump dir
        // whose records verify keeps.
        const std::string name = p.filename().string();
        const bool differential = store::parse_differential_name(name).has_value();
        if (differential || store::parse_backup_name(name) || fs::is_regular_file(p)) {
            VerifyOptions always = options;
            always.all = true;
            always.record = false;
            Candidate c = inspect(fs::absolute(p), differential, 0);
            c.in_dir = false;
            decide(c, always);
            Checker(report, progress, always).run({c});
        } else {
            VerifyItem item;
            item.file = p.string();
            item.kind = "?";
            item.content = "-";
            item.structure = "-";
            item.problems.push_back("no such file or directory");
            report.items.push_back(item);
        }
    }
    return report;
}

}  // namespace pvediff::commands
