// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/backup.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "archive_replacement.h"
#include "interrupted_runs.h"
#include "pvediff/commands/content_check.h"
#include "pvediff/commands/fault_point.h"
#include "pvediff/commands/pipeline.h"
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

// Takes the guest's lock, saying so in the log when another pvediff holds it.
store::GuestLock lock_guest(const fs::path& dir, store::GuestType type, std::uint32_t vmid,
                            const store::EffectiveSettings& settings, const Report& report)
{
    return store::GuestLock(dir, type, vmid, settings.lock_timeout, [&] {
        report("waiting for another pvediff working on " + std::string(store::guest_type_name(type)) + " " +
               std::to_string(vmid));
    });
}

// Temporary files of this guest left by a run that was killed. Safe to remove: we
// hold the guest's lock, so no other pvediff is writing them.
void remove_stale_temps(const store::DumpDir& dir, store::GuestType type, std::uint32_t vmid,
                        const Report& report)
{
    const store::GuestBackups* guest = dir.find({type, vmid});
    if (guest == nullptr) {
        return;
    }
    for (const auto& e : guest->in_progress) {
        if (io::is_temp_name(e.name)) {
            io::remove_entry(dir.path / e.name);
            report("removed leftover temporary file " + e.name);
        }
    }
}

io::CompressOptions compress_options(const store::EffectiveSettings& settings)
{
    io::CompressOptions o;
    o.threads = settings.zstd_threads;
    return o;
}

// Reads through `inner` and writes every byte read to `copy`.
class TeeSource final : public io::ByteSource {
public:
    TeeSource(io::ByteSource& inner, io::ByteSink& copy) : inner_(inner), copy_(copy) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = inner_.read(buf);
        copy_.write(buf.first(n));
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }

private:
    io::ByteSource& inner_;
    io::ByteSink& copy_;
};

// Throws unless `c` is a sound archive of `format`: complete, and structurally valid.
void require_sound(const ContentCheck& c, store::ArchiveFormat format, const std::string& what)
{
    const std::string want(store::archive_format_name(format));
    if (c.format != want || !c.structure_ok || !c.problems.empty()) {
        std::string why = c.format != want ? "not a " + want + " archive (" + c.summary + ")" : c.summary;
        for (const auto& p : c.problems) {
            why += "; " + p;
        }
        throw io::Error(what + " is not a complete " + want + " archive (" + std::to_string(c.size) +
                        " bytes read: " + why + "); nothing was kept");
    }
}

// A differential written, decoded again and checked, but not yet in place.
struct VerifiedDifferential {
    std::unique_ptr<io::AtomicFile> file;
    DiffOutcome diff;
    RebuildOutcome check;
    std::uint64_t file_size = 0;
    store::Manifest manifest;
};

VerifiedDifferential make_verified_differential(
    const fs::path& base, io::DecodedInput input, const fs::path& target,
    const store::EffectiveSettings& settings, io::Codec codec,
    std::optional<store::ArchiveFormat> check_format = std::nullopt)
{
    VerifiedDifferential v;
    v.file = std::make_unique<io::AtomicFile>(target);
    EncodeSettings enc;
    enc.engine = settings.engine;
    enc.codec = codec;
    enc.compress = compress_options(settings);
    v.diff = encode_differential(base.string(), std::move(input), v.file->sink(), enc);
    io::fsync_fd(v.file->fd(), v.file->temp_path().string());
    v.file_size = size_of_fd(v.file->fd(), v.file->temp_path().string());

    // Rule 1: decode what was written, from the file, and compare content checksums.
    if (check_format) {
        // An archive from a stream was never checked by vzdump's rename: check its
        // structure in the same pass (a stream cut short must not become a backup).
        const ContentCheck c = check_differential(base, v.file->temp_path(), target.parent_path());
        require_sound(c, *check_format, "the archive on standard input");
        v.check.target = ContentInfo{c.size, c.sha256, io::Codec::none};
        const auto base_name = store::parse_backup_name(base.filename().string());
        v.check.base = ContentInfo{
            c.base_size, c.base_sha256,
            base_name ? store::to_io_codec(base_name->codec).value_or(io::Codec::none) : io::Codec::none};
    } else {
        io::NullSink discard;
        v.check = rebuild_archive(base.string(), v.file->temp_path().string(), discard, target.parent_path());
    }
    if (v.check.target.sha256 != v.diff.encode.target_sha256 ||
        v.check.target.size != v.diff.encode.target_bytes) {
        throw io::Error("'" + target.string() + "': verification failed: the differential decodes to " +
                        std::to_string(v.check.target.size) +
                        " bytes with another SHA-256 than the archive's " +
                        std::to_string(v.diff.encode.target_bytes) + " bytes; nothing was changed");
    }
    detail::check_base_identity(base, v.check.base);

    v.manifest = detail::differential_manifest(
        target.filename().string(),
        ContentInfo{v.diff.encode.target_bytes, v.diff.encode.target_sha256, codec}, base.filename().string(),
        v.check.base, settings.engine);
    store::DeltaInfo& d = *v.manifest.delta;
    d.copied_bytes = v.diff.encode.copied_bytes;
    d.literal_bytes = v.diff.encode.literal_bytes;
    d.windows = v.diff.encode.windows;
    d.delta_bytes = v.diff.encode.delta_bytes;
    return v;
}

std::string percent(std::uint64_t part, std::uint64_t whole)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%",
                  whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
    return buf;
}

}  // namespace

BackupResult backup_archive(const fs::path& archive_arg, const store::EffectiveSettings& settings,
                            const Report& report)
{
    const auto start = Clock::now();
    const fs::path archive = fs::absolute(archive_arg);
    const std::string file = archive.filename().string();
    const store::EntryName entry = store::classify_entry_name(file);
    if (entry.kind != store::EntryKind::full || !entry.full) {
        throw io::Error("'" + archive.string() + "': not a finished vzdump archive name");
    }
    const store::BackupName name = *entry.full;
    const auto archive_codec = store::to_io_codec(name.codec);
    if (!archive_codec) {
        throw io::Error("'" + archive.string() + "': bzip2 archives are not supported");
    }
    struct stat st {};
    if (::stat(archive.c_str(), &st) != 0) {
        io::throw_errno("open", archive.string(), errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw io::Error("'" + archive.string() + "': not a regular file");
    }
    const std::uint64_t archive_size = static_cast<std::uint64_t>(st.st_size);
    const fs::path dir = archive.parent_path();
    const store::GuestLock lock = lock_guest(dir, name.type, name.vmid, settings, report);
    store::DumpDir scanned = store::scan_dump_dir(dir);
    remove_stale_temps(scanned, name.type, name.vmid, report);
    const auto finished = detail::finish_interrupted_runs(scanned, name.type, name.vmid, settings, report);
    if (!finished.empty()) {
        const auto it =
            std::find_if(finished.begin(), finished.end(), [&](const auto& f) { return f.archive == file; });
        if (it != finished.end()) {
            // A retry of the run that was interrupted: it is done now.
            BackupResult done;
            done.differential = true;
            done.written = dir / it->differential;
            done.file_size = fs::file_size(done.written);
            return done;
        }
        scanned = store::scan_dump_dir(dir);
    }

    store::NewArchive candidate;
    candidate.name = name;
    candidate.file = file;
    candidate.is_protected = fs::exists(archive.string() + std::string(store::protected_suffix));
    const store::Decision decision = store::decide_backup(scanned, candidate, settings);

    BackupResult result;
    auto keep_as_full = [&](const ContentInfo& content, const std::string& why) {
        store::write_manifest(archive, detail::full_manifest(file, content));
        report(file + ": kept as full (" + why + "), " + human_bytes(content.size) + " of content");
        result.written = archive;
        result.content_size = content.size;
        result.file_size = archive_size;
        return result;
    };
    if (!decision.differential()) {
        // A new full: hash it and store its chunk index for the differentials to come.
        return keep_as_full(hash_and_index(archive.string(), index_path_for(archive)), decision.reason);
    }

    const fs::path base = dir / decision.base->file;
    const io::Codec codec = store::differential_codec(settings.compress, *archive_codec);
    const fs::path target = dir / store::format_differential_name(store::make_differential_name(
                                      decision.base->name, name.time, store::from_io_codec(codec)));
    if (fs::exists(target)) {
        throw io::Error("'" + target.string() + "' exists already; the archive is kept");
    }
    report(file + ": " + decision.reason);
    VerifiedDifferential v =
        make_verified_differential(base, io::open_decompressed(archive.string()), target, settings, codec);

    const store::SizeCheck size =
        store::check_differential_size(v.file_size, decision.base->size, settings.max_diff_ratio);
    if (!size.keep) {
        ContentInfo content{v.diff.encode.target_bytes, v.diff.encode.target_sha256, *archive_codec};
        hash_and_index(archive.string(), index_path_for(archive));
        return keep_as_full(content, size.reason);
    }

    // Commit order: differential, its manifest, notes; only then the archive goes.
    // A crash in between leaves both the archive and a complete differential.
    fault_point("differential-verified");
    v.file->set_mode(io::mode_like(archive));  // as secret as the archive it replaces
    v.file->commit_no_replace();
    fault_point("differential-committed");
    store::write_manifest(target, v.manifest);
    detail::carry_notes(archive, target);
    detail::ensure_full_manifest(base, v.check.base);
    fault_point("before-archive-removed");
    detail::remove_archive_and_sidecars(archive);
    io::fsync_dir(dir.string());

    report(file + ": replaced by " + target.filename().string());
    report(file + ": " + human_bytes(archive_size) + " -> " + human_bytes(v.file_size) + " (" +
           percent(v.file_size, archive_size) + "), content verified (SHA-256 " +
           io::to_hex(v.manifest.content_sha256).substr(0, 16) + "...), " + human_seconds(since(start)));
    result.differential = true;
    result.written = target;
    result.content_size = v.manifest.content_size;
    result.file_size = v.file_size;
    return result;
}

BackupResult backup_stream(const StreamBackupOptions& options, const store::EffectiveSettings& settings,
                           const Report& report)
{
    const auto start = Clock::now();
    const fs::path dir = fs::absolute(options.dumpdir);
    if (!fs::is_directory(dir)) {
        throw io::Error("'" + dir.string() + "': not a directory");
    }
    // The input's codec (learnt from its first bytes) decides the full's by default.
    io::DecodedInput input = io::open_decompressed("-");
    store::BackupName name;
    name.type = options.type;
    name.vmid = options.vmid;
    name.time = store::backup_time_from_instant(options.now.value_or(std::time(nullptr)));
    name.format =
        options.type == store::GuestType::qemu ? store::ArchiveFormat::vma : store::ArchiveFormat::tar;
    const io::Codec full_codec =
        options.full_codec.value_or(input.codec == io::Codec::none ? io::Codec::zstd : input.codec);
    name.codec = store::from_io_codec(full_codec);

    const store::GuestLock lock = lock_guest(dir, name.type, name.vmid, settings, report);
    store::DumpDir scanned = store::scan_dump_dir(dir);
    remove_stale_temps(scanned, name.type, name.vmid, report);
    if (!detail::finish_interrupted_runs(scanned, name.type, name.vmid, settings, report).empty()) {
        scanned = store::scan_dump_dir(dir);
    }
    const fs::path full_path = dir / store::format_backup_name(name);
    if (fs::exists(full_path)) {
        throw io::Error("'" + full_path.string() + "' exists already");
    }
    store::NewArchive candidate;
    candidate.name = name;
    const store::Decision decision = store::decide_backup(scanned, candidate, settings);
    BackupResult result;

    // Writes the full under its standard name from what `produce` writes (it returns
    // the size and SHA-256 of that content). `expected`: the content SHA-256 it must
    // have, checked before it gets its name.
    auto write_full = [&](const std::function<ContentInfo(io::ByteSink&)>& produce, const std::string& why,
                          const std::optional<io::Digest>& expected = std::nullopt) {
        io::AtomicFile out(full_path);
        auto sink =
            io::make_write_behind(io::make_compressor(out.sink(), full_codec, compress_options(settings)));
        ContentInfo info = produce(*sink);
        sink->finish();
        info.codec = full_codec;
        if (expected && info.sha256 != *expected) {
            throw io::Error("'" + full_path.string() +
                            "': rebuilt content differs from the stream's; nothing was kept");
        }
        fault_point("full-written");
        out.commit_no_replace();
        store::write_manifest(full_path, detail::full_manifest(full_path.filename().string(), info));
        result.written = full_path;
        result.content_size = info.size;
        result.file_size = fs::file_size(full_path);
        report(full_path.filename().string() + ": written as full (" + why + "), " +
               human_bytes(result.file_size) + " in " + human_seconds(since(start)));
        return info;
    };
    if (!decision.differential()) {
        auto source = io::make_read_ahead(std::move(input.source));
        write_full(
            [&](io::ByteSink& sink) {
                // What is read is written, and checked on the way: a stream cut short
                // (vzdump killed) must not become a full.
                TeeSource tee(*source, sink);
                const ContentCheck c = check_content(tee);
                require_sound(c, name.format, "the archive on standard input");
                return ContentInfo{c.size, c.sha256, io::Codec::none};
            },
            decision.reason);
        hash_and_index(full_path.string(), index_path_for(full_path));
        return result;
    }

    const fs::path base = dir / decision.base->file;
    const io::Codec codec = store::differential_codec(settings.compress, full_codec);
    const fs::path target = dir / store::format_differential_name(store::make_differential_name(
                                      decision.base->name, name.time, store::from_io_codec(codec)));
    if (fs::exists(target)) {
        throw io::Error("'" + target.string() + "' exists already");
    }
    report(decision.reason);
    VerifiedDifferential v =
        make_verified_differential(base, std::move(input), target, settings, codec, name.format);
    const store::SizeCheck size =
        store::check_differential_size(v.file_size, decision.base->size, settings.max_diff_ratio);
    if (!size.keep) {
        // The stream is gone, but the full and the verified differential rebuild it
        // exactly: write that as the full.
        report(size.reason + ": writing a full instead");
        write_full(
            [&](io::ByteSink& sink) {
                return rebuild_archive(base.string(), v.file->temp_path().string(), sink, dir).target;
            },
            size.reason, v.diff.encode.target_sha256);
        hash_and_index(full_path.string(), index_path_for(full_path));
        return result;
    }
    fault_point("differential-verified");
    v.file->commit_no_replace();
    fault_point("differential-committed");
    store::write_manifest(target, v.manifest);
    detail::ensure_full_manifest(base, v.check.base);
    report(target.filename().string() + ": " + human_bytes(v.manifest.content_size) + " of content -> " +
           human_bytes(v.file_size) + ", content verified, " + human_seconds(since(start)));
    result.differential = true;
    result.written = target;
    result.content_size = v.manifest.content_size;
    result.file_size = v.file_size;
    return result;
}

}  // namespace pvediff::commands
