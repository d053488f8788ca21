// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/backup.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "archive_replacement.h"
#include "full_framing.h"
#include "interrupted_runs.h"
#include "pvediff/commands/content_check.h"
#include "pvediff/commands/differential_proof.h"
#include "pvediff/commands/fault_point.h"
#include "pvediff/commands/pipeline.h"
#include "pvediff/commands/progress_scope.h"
#include "pvediff/commands/scratch_dir.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/counting_stream.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/threaded_stream.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/guest_lock.h"
#include "pvediff/store/manifest.h"
#include "pvediff/store/policy.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::uint64_t size_of_fd(int fd, const std::string& name)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        io::throw_errno("stat", name, errno);
    }
    return static_cast<std::uint64_t>(st.st_size);
}

std::string percent(std::uint64_t part, std::uint64_t whole)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%",
                  whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
    return buf;
}

// Passes the bytes read from an input opened before the phase that shows them
// (stream mode opens standard input before the lock) to that phase's display. Shared
// between the counting source and the run: the source may outlive a phase.
struct ProgressRelay {
    std::function<void(std::uint64_t)> to;
};

// `raw` decompressed, its own bytes (as stored: compressed, if it is) counted to `relay`.
io::DecodedInput open_counted(std::unique_ptr<io::ByteSource> raw,
                              const std::shared_ptr<ProgressRelay>& relay)
{
    return io::open_decompressed(
        std::make_unique<io::CountingSource>(std::move(raw), [relay](std::uint64_t n) {
            if (relay->to) {
                relay->to(n);
            }
        }));
}

// Shows one phase of a run reading an input counted through `relay`.
class RelayedScope {
public:
    RelayedScope(Progress* progress, const std::string& what, std::optional<std::uint64_t> total,
                 std::shared_ptr<ProgressRelay> relay)
        : scope_(progress, what, total), relay_(std::move(relay))
    {
        relay_->to = scope_.updater();
    }
    ~RelayedScope() { relay_->to = nullptr; }
    RelayedScope(const RelayedScope&) = delete;
    RelayedScope& operator=(const RelayedScope&) = delete;

private:
    ProgressScope scope_;
    std::shared_ptr<ProgressRelay> relay_;
};

// Takes the guest's lock, saying so in the log when another pvediff holds it (and
// in `waited`, if given: what was seen before may have changed meanwhile).
store::GuestLock lock_guest(const fs::path& dir, store::GuestType type, std::uint32_t vmid,
                            const store::EffectiveSettings& settings, const Report& report,
                            bool* waited = nullptr)
{
    return store::GuestLock(dir, type, vmid, settings.lock_timeout, [&] {
        if (waited != nullptr) {
            *waited = true;
        }
        report(
            fmt::format("waiting for another pvediff working on {} {}", store::guest_type_name(type), vmid));
    });
}

// A temporary file of another host (or of an older pvediff, whose names carry no
// host) younger than this may be written right now: its pid means nothing here, and
// a differential's temporary is not written while it is decoded again, which takes
// minutes for a large guest.
constexpr std::time_t foreign_temp_quiet_age = 3600;

// Whether a temporary file may belong to a live run: its pid lives on this host, or
// it was written recently by another host (or an unknown one).
bool may_be_live(const store::DirEntry& e, const std::string& this_host, std::time_t now)
{
    const auto owner = io::temp_owner(e.name);
    if (owner && owner->host == this_host) {
        return ::kill(owner->pid, 0) == 0 || errno == EPERM;
    }
    return now - e.mtime < foreign_temp_quiet_age;
}

// Temporary files of this guest left by a run that was killed. We hold the guest's
// lock, so no other backup writes them; but `restore --pve-name` into this dump dir
// takes no lock: a temporary that may be a live run's is left alone.
void remove_stale_temps(const store::DumpDir& dir, store::GuestType type, std::uint32_t vmid,
                        const Report& report)
{
    const store::GuestBackups* guest = dir.find({type, vmid});
    if (guest == nullptr) {
        return;
    }
    const std::time_t now = std::time(nullptr);
    const std::string this_host = io::temp_host_tag();
    for (const auto& e : guest->in_progress) {
        if (!io::is_temp_name(e.name)) {
            continue;
        }
        if (may_be_live(e, this_host, now)) {
            report("left temporary file " + e.name + " in place: another run may be writing it");
            continue;
        }
        io::remove_entry(dir.path / e.name);
        report("removed leftover temporary file " + e.name);
    }
}

// Throws unless `c` is a sound archive of `format`: complete, and structurally valid.
// `what` names the input, `kept` says what became of it.
void require_sound(const ContentCheck& c, store::ArchiveFormat format, const std::string& what,
                   const std::string& kept)
{
    const std::string want(store::archive_format_name(format));
    if (c.format != want || !c.structure_ok || !c.problems.empty()) {
        std::string why = c.format != want ? "not a " + want + " archive (" + c.summary + ")" : c.summary;
        for (const auto& p : c.problems) {
            why += "; " + p;
        }
        throw io::Error(fmt::format("{} is not a complete {} archive ({} bytes read: {}); {}", what, want,
                                    c.size, why, kept));
    }
}

// What a file-mode run says of an archive that fails its check: it is not touched.
constexpr const char* archive_left_alone =
    "it is left as vzdump wrote it (no manifest, no index: never the base of a chain)";

// What a run does, decided under the guest's lock from a fresh listing.
struct RunPlan {
    store::DumpDir scanned;
    std::vector<detail::FinishedRun> finished;  // interrupted runs finished on the way
    store::Decision decision;
    // A differential: the full it is made against, how it is written, where it goes.
    fs::path base;
    DifferentialWriting writing;
    fs::path target;
    fs::path scratch;  // where scratch files go (scratch_dir.h)
};

// The steps both entry points take before any content is read: temporaries of
// killed runs, interrupted runs finished, the policy's decision and the
// differential's name. Needs the guest's lock.
RunPlan plan_differential(const fs::path& dir, const store::NewArchive& candidate, io::Codec archive_codec,
                          const store::EffectiveSettings& settings, const Report& report)
{
    RunPlan plan;
    plan.scratch = scratch_dir(settings.tmpdir, dir);  // a missing tmpdir fails here, before any work
    const store::BackupName& name = candidate.name;
    plan.scanned = store::scan_dump_dir(dir);
    remove_stale_temps(plan.scanned, name.type, name.vmid, report);
    plan.finished = detail::finish_interrupted_runs(plan.scanned, name.type, name.vmid, settings, report);
    if (!plan.finished.empty()) {
        plan.scanned = store::scan_dump_dir(dir);
    }
    plan.decision = store::decide_backup(plan.scanned, candidate, settings);
    if (plan.decision.differential()) {
        plan.base = dir / plan.decision.base->file;
        plan.writing = differential_writing(settings, archive_codec);
        plan.target =
            dir / store::format_differential_name(store::make_differential_name(
                      plan.decision.base->name, name.time, store::from_io_codec(plan.writing.codec)));
    }
    return plan;
}

// A differential written, decoded again and checked, but not yet in place.
struct VerifiedDifferential {
    std::unique_ptr<io::AtomicFile> file;
    DiffOutcome diff;
    ContentInfo base;  // the full, as read while decoding
    std::uint64_t file_size = 0;
    store::Manifest manifest;
};

// Encodes `input` against the plan's full and proves, before anything is committed,
// that the file as written rebuilds exactly the input (rule 1), and that the input is
// a complete archive (a stream cut short or a damaged archive must not become a
// backup). With the chunked engine: the structure is checked on the encoder's one
// read of the input, and the written file is checked against the proof the encoder
// recorded (differential_proof.h); the full is not read a second time. With another
// engine, or when plain xdelta3's delta of a small input was kept as the smaller
// (EncodeResult::proof_covers_delta): the written file is decoded against the full and
// the result checked and compared by SHA-256 (check_differential). `what` names the input in messages,
// `kept` says what becomes of it.
//
// Progress: `shown` names the run; the encoding shows the input's bytes as read
// through `relay` (of `input_size`, the file's size, when known), the decode the
// rebuilt content's bytes (of the size the encoder read: known exactly).
struct ShownAs {
    Progress* progress = nullptr;
    std::string what;
    std::shared_ptr<ProgressRelay> relay;
    std::optional<std::uint64_t> input_size;
};

VerifiedDifferential make_verified_differential(const RunPlan& plan, io::DecodedInput input,
                                                store::ArchiveFormat format,
                                                const store::EffectiveSettings& settings,
                                                const std::string& what, const std::string& kept,
                                                const ShownAs& shown, const Report& report)
{
    VerifiedDifferential v;
    v.file = std::make_unique<io::AtomicFile>(plan.target);
    EncodeSettings enc;
    enc.engine = settings.engine;
    enc.writing = plan.writing;
    enc.keep_built_index = true;  // for keep_built_index(), once the differential is in place
    enc.scratch_dir = plan.scratch;
    enc.on_full_read = phase_updater(shown.progress, shown.what + ", reading the full");
    enc.on_writing = phase_updater(shown.progress, shown.what + ", writing the differential");
    const bool proven = settings.engine == "default" || settings.engine == "chunked";
    std::optional<engine::CopyProof> proof;
    std::optional<CheckedInput> checked;
    if (proven) {
        enc.proof = &proof.emplace(plan.scratch, engine::ProofKey::random());
        input = checked.emplace(std::move(input)).take();
    }
    {
        const RelayedScope encoding(shown.progress, shown.what + ", encoding", shown.input_size, shown.relay);
        v.diff = encode_differential(plan.base.string(), std::move(input), v.file->sink(), enc);
    }
    if (!v.diff.stored_index_refused.empty()) {
        report(v.diff.stored_index_refused);
    }
    io::fsync_fd(v.file->fd(), v.file->temp_path().string());
    v.file_size = size_of_fd(v.file->fd(), v.file->temp_path().string());
    fault_point_damage("differential-written", v.file->fd());

    const auto base_name = store::parse_backup_name(plan.base.filename().string());
    const io::Codec base_codec =
        base_name ? store::to_io_codec(base_name->codec).value_or(io::Codec::none) : io::Codec::none;
    if (proven) {
        // The structure and SHA-256 of what the encoder read, checked beside it.
        const ContentCheck c = checked->finish();
        require_sound(c, format, what, kept);
        v.diff.encode.target_sha256 = c.sha256;
        if (c.size != v.diff.encode.target_bytes) {
            throw io::file_error(
                plan.target.string(),
                "verification failed: the encoder read {} bytes, the check {}; nothing was changed",
                v.diff.encode.target_bytes, c.size);
        }
    }
    if (proven && v.diff.encode.proof_covers_delta) {
        if (!proof->finished() || !v.diff.base_hashed) {
            throw io::file_error(
                plan.target.string(),
                "verification failed: the encoder made no proof for it; nothing was changed");
        }
        // A full changed since its manifest is named as such before its copies fail.
        v.base = ContentInfo{v.diff.base.size, v.diff.base.sha256, base_codec};
        detail::check_base_identity(plan.base, v.base);
        // Of the written file as stored: the check reads it whole, and takes the bytes it
        // copies from the full by their recorded hashes.
        ProgressScope verifying(shown.progress, shown.what + ", verifying", v.file_size);
        try {
            check_written_differential(v.file->fd(), v.file->temp_path().string(), *proof,
                                       v.diff.encode.target_bytes, verifying.updater());
        } catch (const io::Error& e) {
            // Reason 1: the same error, said to be a failed verification.
            throw io::file_error(plan.target.string(),
                                 "verification failed: the differential as written does not rebuild the "
                                 "archive ({}); nothing was changed",
                                 e.what());
        }
        verifying.finish();
    } else {
        // Another engine, or (small inputs) plain xdelta3's delta kept as the smaller:
        // the written file is decoded against the full. The encoder read the whole
        // archive: the decode must produce exactly that many bytes with its SHA-256.
        ProgressScope verifying(shown.progress, shown.what + ", verifying", v.diff.encode.target_bytes);
        ContentCheck c;
        try {
            c = check_differential(plan.base, v.file->temp_path(), plan.scratch,
                                   KnownSizes{v.diff.encode.target_bytes, std::nullopt}, verifying.updater());
        } catch (const io::Error& e) {
            throw io::file_error(plan.target.string(),
                                 "verification failed: the differential as written does not decode ({}); "
                                 "nothing was changed",
                                 e.what());
        }
        verifying.finish();
        require_sound(c, format, what, kept);
        if (c.sha256 != v.diff.encode.target_sha256 || c.size != v.diff.encode.target_bytes) {
            throw io::file_error(
                plan.target.string(),
                "verification failed: the differential decodes to {} bytes with another SHA-256 "
                "than the archive's {} bytes; nothing was changed",
                c.size, v.diff.encode.target_bytes);
        }
        v.base = ContentInfo{c.base_size, c.base_sha256, base_codec};
        detail::check_base_identity(plan.base, v.base);
    }

    v.manifest = detail::differential_manifest(
        plan.target.filename().string(),
        ContentInfo{v.diff.encode.target_bytes, v.diff.encode.target_sha256, plan.writing.codec},
        plan.base.filename().string(), v.base, settings.engine);
    store::DeltaInfo& d = *v.manifest.delta;
    d.copied_bytes = v.diff.encode.copied_bytes;
    d.literal_bytes = v.diff.encode.literal_bytes;
    d.windows = v.diff.encode.windows;
    d.delta_bytes = v.diff.encode.delta_bytes;
    return v;
}

// A full whose stored index was missing or set aside gets the one this run built from
// it, once the differential is in place: later differentials need not index the full
// again; one whose index is of version 4 gets it again with the XXH3-128 this run took
// of the full, by which later differentials check the full instead of its SHA-256.
// Only an index of the full's content as its manifest records it (the SHA-256 taken on
// the pass that built it); failing to write it costs only that, and is said.
void keep_built_index(const VerifiedDifferential& v, const fs::path& full, const Report& report)
{
    const std::shared_ptr<const engine::ChunkIndex>& index = v.diff.index_to_save;
    if (!index || !index->content_sha256()) {
        return;
    }
    const fs::path path = index_path_for(full);
    try {
        const std::optional<store::Manifest> m = store::read_manifest(full);
        if (!m || m->content_digest != store::ContentDigest::sha256 ||
            m->content_size != index->content_size() || m->content_sha256 != *index->content_sha256()) {
            return;
        }
        index->save(path, io::mode_like(full));  // as secret as the full
        report(fmt::format("{}: written again from this run's read of the full", path.filename().string()));
    } catch (const io::Error& e) {
        report(fmt::format("{}: not written again ({}); the next differential indexes the full once more",
                           path.filename().string(), e.what()));
    }
}

// Puts a verified differential in place. Commit order: differential, its manifest,
// notes, the full's manifest; only then the archive it replaces (file mode) goes. A
// crash in between leaves both the archive and a complete differential, which the
// next run finishes (interrupted_runs.h).
void commit_differential(VerifiedDifferential& v, const RunPlan& plan, const fs::path* replaced_archive)
{
    fault_point("differential-verified");
    // As secret as the archive it replaces (stream mode: as the full it needs).
    v.file->set_mode(io::mode_like(replaced_archive != nullptr ? *replaced_archive : plan.base));
    v.file->commit_no_replace();
    fault_point("differential-committed");
    store::write_manifest(plan.target, v.manifest);
    if (replaced_archive != nullptr) {
        detail::carry_notes(*replaced_archive, plan.target);
    }
    detail::ensure_full_manifest(plan.base, v.base);
    if (replaced_archive != nullptr) {
        fault_point("before-archive-removed");
        detail::remove_archive_and_sidecars(*replaced_archive);
        io::fsync_dir(plan.target.parent_path().string());
    }
}

// The archive of a file-mode run, checked by name and kind before the lock.
struct NamedArchive {
    fs::path path;
    std::string file;
    store::BackupName name;
    io::Codec codec = io::Codec::none;
};

NamedArchive name_archive(const fs::path& archive_arg)
{
    NamedArchive a;
    a.path = fs::absolute(archive_arg);
    a.file = a.path.filename().string();
    const store::EntryName entry = store::classify_entry_name(a.file);
    if (entry.kind != store::EntryKind::full || !entry.full) {
        throw io::file_error(a.path.string(), "not a finished vzdump archive name");
    }
    a.name = *entry.full;
    const auto codec = store::to_io_codec(a.name.codec);
    if (!codec) {
        throw io::file_error(a.path.string(), "bzip2 archives are not supported");
    }
    a.codec = *codec;
    return a;
}

// The archive's size; says plainly when it is gone (`waited`: after waiting for the
// lock, e.g. removed by a prune that held it).
std::uint64_t archive_size(const fs::path& archive, bool waited)
{
    struct stat st {};
    if (::stat(archive.c_str(), &st) != 0) {
        if (errno == ENOENT && waited) {
            throw io::file_error(
                archive.string(),
                "the archive is gone: it was removed (by prune or another pvediff?) while this "
                "backup waited for the guest's lock; nothing to do");
        }
        io::throw_errno("open", archive.string(), errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw io::file_error(archive.string(), "not a regular file");
    }
    return static_cast<std::uint64_t>(st.st_size);
}

// Opens the archive's content, refusing one whose codec (from its first bytes) is
// not the one its name gives.
io::DecodedInput open_named_archive(const NamedArchive& a, const std::shared_ptr<ProgressRelay>& relay)
{
    io::DecodedInput input = open_counted(io::open_file_source(a.path.string()), relay);
    if (input.codec != a.codec) {
        throw io::file_error(a.path.string(), "its name says {} but its content is {}; {}",
                             store::archive_codec_name(a.name.codec),
                             store::archive_codec_name(store::from_io_codec(input.codec)),
                             archive_left_alone);
    }
    return input;
}

// A new full in file mode: checked and indexed in one read; the manifest and the
// index are written only for a sound archive. A VMA in zstd is written again in frames
// on the same read (frame-fulls, detail::FullFraming), replacing vzdump's file once
// the copy is checked; `framing` says how that went (unset: not tried).
ContentInfo check_new_full(const NamedArchive& a, Progress* progress, std::uint64_t size,
                           const store::EffectiveSettings& settings, const fs::path& scratch,
                           std::optional<FullFramingOutcome>& framing)
{
    std::optional<detail::FullFraming> copy;
    if (settings.frame_fulls && a.name.format == store::ArchiveFormat::vma && a.codec == io::Codec::zstd) {
        io::CompressOptions compress;
        compress.threads = settings.zstd_threads;
        try {
            copy.emplace(a.path, compress);
        } catch (const std::exception& e) {
            framing = detail::FullFraming::not_started(e.what());
        }
    }
    auto relay = std::make_shared<ProgressRelay>();
    CheckedFull checked;
    {
        const RelayedScope reading(progress, "backup " + a.file + ", checking", size, relay);
        // The index is sorted on scratch disk.
        checked = check_and_index(open_named_archive(a, relay), scratch, copy ? &copy->sink() : nullptr);
    }
    require_sound(checked.check, a.name.format, fmt::format("'{}'", a.path.string()), archive_left_alone);
    checked.index.save(index_path_for(a.path), io::mode_like(a.path));  // as secret as the full
    const ContentInfo content{checked.check.size, checked.check.sha256, a.codec};
    if (copy) {
        framing = copy->replace(content, progress, "backup " + a.file + ", checking its copy in frames");
    }
    return content;
}

}  // namespace

BackupResult backup_archive(const fs::path& archive_arg, const store::EffectiveSettings& settings,
                            const Report& report, Progress* progress)
{
    const auto start = Clock::now();
    const NamedArchive a = name_archive(archive_arg);
    BackupResult result;
    result.written = a.path;
    if (settings.fullbackup.count() <= 0) {
        // Documented as "does nothing": no read, no manifest, no index, no lock.
        report(a.file + ": fullbackup is 0: left as it is");
        return result;
    }
    const fs::path dir = a.path.parent_path();
    archive_size(a.path, false);
    bool waited = false;
    const store::GuestLock lock = lock_guest(dir, a.name.type, a.name.vmid, settings, report, &waited);
    if (fs::exists(a.path.string() + std::string(store::restored_suffix))) {
        throw io::file_error(
            a.path.string(),
            "a copy written by pvediff restore --pve-name ({}), not a new backup: left as it is "
            "(delete it when you are done with it)",
            store::restored_suffix);
    }
    store::NewArchive candidate;
    candidate.name = a.name;
    candidate.file = a.file;
    candidate.is_protected = fs::exists(a.path.string() + std::string(store::protected_suffix));
    const RunPlan plan = plan_differential(dir, candidate, a.codec, settings, report);
    const auto retried = std::find_if(plan.finished.begin(), plan.finished.end(),
                                      [&](const auto& f) { return f.archive == a.file; });
    if (retried != plan.finished.end()) {
        // A retry of the run that was interrupted: it is done now.
        result.differential = true;
        result.written = dir / retried->differential;
        result.file_size = fs::file_size(result.written);
        return result;
    }
    const std::uint64_t size = archive_size(a.path, waited);

    auto keep_as_full = [&](const ContentInfo& content, const std::string& why,
                            const std::optional<FullFramingOutcome>& framing = std::nullopt) {
        store::write_manifest(a.path, detail::full_manifest(a.file, content));
        report(a.file + ": kept as full (" + why + "), " + human_bytes(content.size) +
               " of content verified" + (framing ? "; " + framing->note : ""));
        result.framing = framing;
        result.content_size = content.size;
        result.file_size = archive_size(a.path, false);
        return result;
    };
    if (!plan.decision.differential()) {
        std::optional<FullFramingOutcome> framing;
        const ContentInfo content = check_new_full(a, progress, size, settings, plan.scratch, framing);
        return keep_as_full(content, plan.decision.reason, framing);
    }
    if (fs::exists(plan.target)) {
        throw io::Error(fmt::format("'{}' exists already; the archive is kept", plan.target.string()));
    }
    report(a.file + ": " + plan.decision.reason);
    const ShownAs shown{progress, "backup " + a.file, std::make_shared<ProgressRelay>(), size};
    VerifiedDifferential v =
        make_verified_differential(plan, open_named_archive(a, shown.relay), a.name.format, settings,
                                   fmt::format("'{}'", a.path.string()), archive_left_alone, shown, report);
    const store::SizeCheck size_check =
        store::check_differential_size(v.file_size, plan.decision.base->size, settings.max_diff_ratio);
    if (!size_check.keep) {
        // Kept as a full like any new one (checked, indexed, written in frames): one more
        // read of the archive.
        std::optional<FullFramingOutcome> framing;
        const ContentInfo content = check_new_full(a, progress, size, settings, plan.scratch, framing);
        return keep_as_full(content, size_check.reason, framing);
    }
    commit_differential(v, plan, &a.path);
    keep_built_index(v, plan.base, report);

    report(a.file + ": replaced by " + plan.target.filename().string());
    report(a.file + ": " + human_bytes(size) + " -> " + human_bytes(v.file_size) + " (" +
           percent(v.file_size, size) + "), content verified (SHA-256 " +
           io::to_hex(v.manifest.content_sha256).substr(0, 16) + "...), " + human_seconds(since(start)));
    result.differential = true;
    result.written = plan.target;
    result.content_size = v.manifest.content_size;
    result.file_size = v.file_size;
    return result;
}

BackupResult backup_stream(StreamBackupOptions options, const store::EffectiveSettings& settings,
                           const Report& report, Progress* progress)
{
    const auto start = Clock::now();
    const fs::path dir = fs::absolute(options.dumpdir);
    if (!fs::is_directory(dir)) {
        throw io::file_error(dir.string(), "not a directory");
    }
    // The input's codec (learnt from its first bytes) decides the full's by default.
    // Its bytes as they arrive are what progress shows: their number is not known
    // before the end.
    const ShownAs shown{progress,
                        fmt::format("backup {} {} from {}", store::guest_type_name(options.type),
                                    options.vmid, options.input_what),
                        std::make_shared<ProgressRelay>(), std::nullopt};
    io::DecodedInput input =
        open_counted(options.input ? std::move(options.input) : io::open_file_source("-"), shown.relay);
    store::BackupName name;
    name.type = options.type;
    name.vmid = options.vmid;
    name.time = store::backup_time_from_instant(options.now.value_or(std::time(nullptr)));
    name.format =
        options.type == store::GuestType::qemu ? store::ArchiveFormat::vma : store::ArchiveFormat::tar;
    const io::Codec full_codec =
        options.full_codec.value_or(input.codec == io::Codec::none ? io::Codec::zstd : input.codec);
    name.codec = store::from_io_codec(full_codec);
    const std::string what = "the archive on " + options.input_what;
    const std::string kept = "nothing was kept";

    const store::GuestLock lock = lock_guest(dir, name.type, name.vmid, settings, report);
    store::NewArchive candidate;
    candidate.name = name;
    const RunPlan plan = plan_differential(dir, candidate, full_codec, settings, report);
    const fs::path full_path = dir / store::format_backup_name(name);
    if (fs::exists(full_path)) {
        throw io::Error(fmt::format("'{}' exists already", full_path.string()));
    }
    BackupResult result;

    // Writes the full under its standard name from what `produce` writes (it returns
    // the size and SHA-256 of that content). `expected`: the content SHA-256 it must
    // have, checked before it gets its name.
    auto write_full = [&](const std::function<ContentInfo(io::ByteSink&)>& produce, const std::string& why,
                          const std::optional<io::Digest>& expected = std::nullopt) {
        io::AtomicFile out(full_path);
        io::CompressOptions compress;
        compress.threads = settings.zstd_threads;
        // A VMA in zstd is written one frame per extent, with its cluster records
        // beside it (formats/vma_cluster_records.h): a later run can then read any
        // extent alone and knows each cluster's checksums without reading it.
        // Declared in this order so that they go in the reverse one: the write-behind
        // thread first, then the writer it feeds, then the records file.
        std::optional<io::AtomicFile> records;
        std::unique_ptr<formats::VmaFramedWriter> framed;
        std::unique_ptr<io::ByteSink> sink;
        if (name.format == store::ArchiveFormat::vma && full_codec == io::Codec::zstd) {
            records.emplace(formats::cluster_records_path(full_path));
            framed = std::make_unique<formats::VmaFramedWriter>(out.sink(), records->sink(),
                                                                full_path.string(), compress);
            sink = io::make_write_behind(std::make_unique<io::SinkRef>(*framed));
        } else {
            sink = io::make_write_behind(io::make_compressor(out.sink(), full_codec, compress));
        }
        ContentInfo info = produce(*sink);
        sink->finish();
        info.codec = full_codec;
        if (expected && info.sha256 != *expected) {
            throw io::file_error(full_path.string(),
                                 "rebuilt content differs from the stream's; nothing was kept");
        }
        fault_point("full-written");
        out.commit_no_replace();
        if (records) {
            try {
                fault_point("before-records-committed");
                records->commit();
            } catch (...) {
                // (Reason 1: the error goes on; the full must not stay without the
                // records it was written with.)
                io::remove_entry(full_path);
                throw;
            }
        }
        store::write_manifest(full_path, detail::full_manifest(full_path.filename().string(), info));
        result.written = full_path;
        result.content_size = info.size;
        result.file_size = fs::file_size(full_path);
        report(full_path.filename().string() + ": written as full (" + why + "), " +
               human_bytes(result.file_size) + " in " + human_seconds(since(start)));
        hash_and_index(full_path.string(), index_path_for(full_path), plan.scratch);
        return info;
    };
    if (!plan.decision.differential()) {
        write_full(
            [&](io::ByteSink& sink) {
                // Shown while read; the reading thread ends (with `source`) before the display.
                const RelayedScope reading(progress, shown.what + ", writing the full", std::nullopt,
                                           shown.relay);
                auto source = io::make_read_ahead(std::move(input.source));
                // What is read is written, and checked on the way: a stream cut short
                // (vzdump killed) must not become a full.
                TeeSource tee(*source, sink);
                const ContentCheck c = check_content(tee);
                require_sound(c, name.format, what, kept);
                return ContentInfo{c.size, c.sha256, io::Codec::none};
            },
            plan.decision.reason);
        return result;
    }
    if (fs::exists(plan.target)) {
        throw io::Error(fmt::format("'{}' exists already", plan.target.string()));
    }
    report(plan.decision.reason);
    VerifiedDifferential v =
        make_verified_differential(plan, std::move(input), name.format, settings, what, kept, shown, report);
    const store::SizeCheck size =
        store::check_differential_size(v.file_size, plan.decision.base->size, settings.max_diff_ratio);
    if (!size.keep) {
        // The stream is gone, but the full and the verified differential rebuild it
        // exactly: write that as the full.
        report(size.reason + ": writing a full instead");
        write_full(
            [&](io::ByteSink& sink) {
                return rebuild_archive(plan.base.string(), v.file->temp_path().string(), sink, plan.scratch)
                    .target;
            },
            size.reason, v.diff.encode.target_sha256);
        return result;
    }
    commit_differential(v, plan, nullptr);
    keep_built_index(v, plan.base, report);
    report(plan.target.filename().string() + ": " + human_bytes(v.manifest.content_size) + " of content -> " +
           human_bytes(v.file_size) + ", content verified, " + human_seconds(since(start)));
    result.differential = true;
    result.written = plan.target;
    result.content_size = v.manifest.content_size;
    result.file_size = v.file_size;
    return result;
}

PlannedBackupResult backup_planned(const PlannedBackupOptions& options,
                                   const store::EffectiveSettings& settings, const Report& report)
{
    const auto start = Clock::now();
    const fs::path dir = fs::absolute(options.dumpdir);
    store::BackupName name;
    name.type = store::GuestType::qemu;
    name.vmid = options.vmid;
    name.time = store::backup_time_from_instant(options.now.value_or(std::time(nullptr)));
    name.format = store::ArchiveFormat::vma;
    name.codec = store::from_io_codec(options.full_codec);
    const store::GuestLock lock = lock_guest(dir, name.type, name.vmid, settings, report);
    store::NewArchive candidate;
    candidate.name = name;
    const RunPlan plan = plan_differential(dir, candidate, options.full_codec, settings, report);
    PlannedBackupResult out;
    if (!plan.decision.differential()) {
        out.not_taken = "the policy asks for a full (" + plan.decision.reason + ")";
        return out;
    }
    if (plan.base != options.base) {
        out.not_taken = fmt::format("the policy chose {} as the full, the plan is made against {}",
                                    plan.base.filename().string(), options.base.filename().string());
        return out;
    }
    if (fs::exists(plan.target)) {
        throw io::Error(fmt::format("'{}' exists already", plan.target.string()));
    }
    report(plan.decision.reason);
    if (options.on_target) {
        options.on_target(plan.target);
    }
    VerifiedDifferential v;
    v.file = std::make_unique<io::AtomicFile>(plan.target);
    engine::CopyProof proof(plan.scratch, engine::ProofKey::random());
    PlannedContent content;
    {
        auto sink = io::make_write_behind(
            io::make_compressor(v.file->sink(), plan.writing.codec, plan.writing.compress));
        content = options.write(plan.base, *sink, proof);
        sink->finish();
    }
    proof.finish();
    io::fsync_fd(v.file->fd(), v.file->temp_path().string());
    v.file_size = size_of_fd(v.file->fd(), v.file->temp_path().string());
    fault_point_damage("differential-written", v.file->fd());
    const auto base_name = store::parse_backup_name(plan.base.filename().string());
    v.base = ContentInfo{
        content.base_size, content.base_sha256,
        base_name ? store::to_io_codec(base_name->codec).value_or(io::Codec::none) : io::Codec::none};
    // A full changed since its manifest is named as such before its copies fail.
    detail::check_base_identity(plan.base, v.base);
    try {
        check_written_differential(v.file->fd(), v.file->temp_path().string(), proof, content.target_size);
    } catch (const io::Error& e) {
        throw io::file_error(plan.target.string(),
                             "verification failed: the differential as written does not rebuild the "
                             "archive ({}); nothing was changed",
                             e.what());
    }
    v.manifest = detail::differential_manifest(
        plan.target.filename().string(),
        ContentInfo{content.target_size, content.target_sha256, plan.writing.codec},
        plan.base.filename().string(), v.base, "nbd-plan");
    if (content.vma_items_digest) {
        v.manifest.content_digest = store::ContentDigest::vma_items;
    }
    store::DeltaInfo& d = *v.manifest.delta;
    d.copied_bytes = content.stats.copied_bytes;
    d.literal_bytes = content.stats.literal_bytes + content.stats.run_bytes;
    d.windows = content.stats.windows;
    d.delta_bytes = content.stats.delta_bytes;
    const store::SizeCheck size =
        store::check_differential_size(v.file_size, plan.decision.base->size, settings.max_diff_ratio);
    if (!size.keep) {
        out.not_taken = size.reason;
        return out;
    }
    commit_differential(v, plan, nullptr);
    report(plan.target.filename().string() + ": " + human_bytes(v.manifest.content_size) + " of content -> " +
           human_bytes(v.file_size) + ", written from the cluster plan and proven, " +
           human_seconds(since(start)));
    BackupResult r;
    r.differential = true;
    r.written = plan.target;
    r.content_size = v.manifest.content_size;
    r.file_size = v.file_size;
    out.backup = r;
    return out;
}

}  // namespace pvediff::commands
