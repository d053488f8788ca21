// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/restore.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <functional>

#include "archive_replacement.h"
#include "pvediff/commands/content_digest.h"
#include "pvediff/commands/pipeline.h"
#include "pvediff/commands/progress_scope.h"
#include "pvediff/commands/scratch_dir.h"
#include "pvediff/commands/usage_error.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/counting_stream.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/output_file.h"
#include "pvediff/io/threaded_stream.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/manifest.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

// The rebuilt (or copied) content against its manifest: size and the digest of the
// manifest's kind. Throws naming the file.
void check_content_digest(const store::Manifest& manifest, std::uint64_t size,
                          const std::optional<io::Digest>& digest, const std::string& why_none,
                          const fs::path& file)
{
    if (const auto wrong = content_digest_mismatch(manifest, size, digest, why_none)) {
        throw io::file_error(file.string(), "{}", *wrong);
    }
}

}  // namespace

namespace {

std::optional<std::uint64_t> manifest_size(const std::optional<store::Manifest>& m)
{
    return m ? std::optional(m->content_size) : std::nullopt;
}

// Why a rebuild failed, when the differential's manifest can tell: the full is not
// the one it was made against (hashes the full once more, only on this failure path).
void refuse_wrong_full(const fs::path& full_path, const store::Manifest& manifest, const std::string& name)
{
    const ContentInfo full_content = hash_content(full_path.string());
    if (const auto wrong = store::full_mismatch(
            full_path, full_content.sha256, manifest.delta->full_content_sha256, fmt::format("'{}'", name))) {
        throw io::Error(*wrong + "; refusing to restore");
    }
}

}  // namespace

// ---- what to write and where (kept apart from the decoding below) ----

std::optional<io::Codec> codec_for_output_name(const std::string& file_name)
{
    const auto ends_with = [&](std::string_view ext) {
        return file_name.size() > ext.size() && file_name.ends_with(ext);
    };
    if (ends_with(".vma") || ends_with(".tar")) {
        return io::Codec::none;
    }
    if (ends_with(".zst")) {
        return io::Codec::zstd;
    }
    if (ends_with(".lzo")) {
        return io::Codec::lzo;
    }
    if (ends_with(".gz") || ends_with(".tgz")) {
        return io::Codec::gzip;
    }
    if (ends_with(".bz2")) {
        throw UsageError(fmt::format(
            "'{}': pvediff cannot write bzip2; name the output .zst, .lzo, .gz or raw", file_name));
    }
    return std::nullopt;
}

fs::path select_backup(const BackupSelection& select)
{
    const std::string who =
        select.type ? fmt::format("guest {} ({})", select.vmid, store::guest_type_name(*select.type))
                    : fmt::format("guest {}", select.vmid);
    for (const fs::path& dir : select.dumpdirs) {
        const store::DumpDir scanned = store::scan_dump_dir(dir);
        const auto found = store::find_backups(scanned, select.vmid, select.type, select.when);
        if (found.size() > 1) {
            std::vector<std::string_view> types;
            types.reserve(found.size());
            for (const auto& f : found) {
                types.push_back(store::guest_type_name(f.guest.type));
            }
            throw UsageError(fmt::format("'{}' has backups of {} {} for {}; say which with --type",
                                         dir.string(), fmt::join(types, " and "), select.vmid,
                                         store::describe_selector(select.when)));
        }
        if (found.size() == 1) {
            return dir / found[0].backup.file();
        }
    }
    std::vector<std::string> dirs;
    for (const fs::path& dir : select.dumpdirs) {
        dirs.push_back(fmt::format("'{}'", dir.string()));
    }
    throw io::Error(fmt::format("no restorable backup of {} for {} in {}", who,
                                store::describe_selector(select.when), fmt::join(dirs, ", ")));
}

namespace {

struct OutputPlan {
    fs::path path;  // empty: standard output
    io::Codec codec = io::Codec::none;
    bool pve_copy = false;
};

// The codec the backup was made with: a differential's manifest says what its file
// holds (the replaced archive's codec unless `compress:` chose another); the add-on's
// differentials have no manifest, their name says it.
io::Codec backup_codec(const std::optional<store::DifferentialName>& diff,
                       const std::optional<store::BackupName>& full,
                       const std::optional<store::Manifest>& manifest)
{
    if (manifest) {
        return manifest->codec;
    }
    const store::ArchiveCodec named = diff ? diff->codec : full->codec;
    return store::to_io_codec(named).value_or(io::Codec::zstd);
}

OutputPlan plan_output(const RestoreOptions& options, const store::BackupName& original, io::Codec made_with)
{
    OutputPlan plan;
    if (options.pve_dir) {
        if (!options.output.empty()) {
            throw UsageError("--pve-name names the copy itself; -o cannot be given with it");
        }
        plan.codec = options.compress.value_or(made_with);
        store::BackupName pve = original;
        pve.codec = store::from_io_codec(plan.codec);
        pve.tgz = false;
        plan.path = fs::absolute(*options.pve_dir) / store::format_backup_name(pve);
        plan.pve_copy = true;
        return plan;
    }
    if (options.output.empty()) {
        throw UsageError("restore needs -o OUT, -o - or --pve-name DIR");
    }
    if (options.output == "-") {
        plan.codec = options.compress.value_or(io::Codec::none);
        return plan;
    }
    plan.path = fs::absolute(options.output);
    const auto named = codec_for_output_name(plan.path.filename().string());
    if (options.compress && named && *options.compress != *named) {
        throw UsageError(fmt::format(
            "-o '{}' says {} but --compress says {}; name the file after its codec or "
            "leave --compress out",
            plan.path.filename().string(), *named == io::Codec::none ? "raw" : io::codec_name(*named),
            io::codec_name(*options.compress)));
    }
    plan.codec = options.compress ? *options.compress : named.value_or(io::Codec::none);
    return plan;
}

// Reported with the directory's own name (the temporary's would only puzzle). An
// existing output is refused, but for a character device or a FIFO named by -o
// (`-o /dev/null` to try a restore, a pipe another program reads), which is written
// into as it is, like standard output, and never replaced (io::OutputFile::writes_into);
// true then. A --pve-name copy's name is pvediff's, in a directory others may write:
// whatever has it is refused.
bool check_output(const OutputPlan& plan)
{
    const fs::path dir = plan.path.parent_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw io::Error(fmt::format("output directory '{}' does not exist", dir.string()));
    }
    struct stat st {};
    if (::lstat(plan.path.c_str(), &st) != 0) {
        return false;
    }
    if (plan.pve_copy || !io::OutputFile::writes_into(st.st_mode)) {
        throw io::Error(
            fmt::format("'{}' exists already; restore never replaces a file: remove it or "
                        "name another output",
                        plan.path.string()));
    }
    return true;
}

io::OutputFile::Stream stream_rule(const OutputPlan& plan)
{
    return plan.pve_copy ? io::OutputFile::Stream::refuse : io::OutputFile::Stream::write_into;
}

// The sidecars of a --pve-name copy, written before the copy gets its name: the
// marker first, so no run ever sees the copy without it (a marker left alone by a
// failed restore is an orphan sidecar, which prune removes).
void write_copy_sidecars(const fs::path& source, const fs::path& copy)
{
    io::write_file_atomic(copy.string() + std::string(store::restored_suffix),
                          "restored-from: " + source.filename().string() + "\n");
    detail::carry_notes(source, copy);
}

void remove_copy_sidecars(const fs::path& copy) noexcept
{
    try {
        io::remove_entry(copy.string() + std::string(store::restored_suffix));
        io::remove_entry(copy.string() + std::string(store::notes_suffix));
    } catch (const io::Error&) {
        // Best effort on a failure path: an orphan sidecar is what prune removes.
    }
}

// "; written to '/x/y.vma.zst' (zstd)" for the report line.
std::string written_to(const OutputPlan& plan)
{
    const std::string codec = plan.codec == io::Codec::none ? "raw" : std::string(io::codec_name(plan.codec));
    return plan.path.empty() ? "; " + codec + " to standard output"
                             : "; written to '" + plan.path.string() + "' (" + codec + ")";
}

// Gives the output its final name (and a --pve-name copy its sidecars).
void commit_output(io::OutputFile& dest, const OutputPlan& plan, const fs::path& source)
{
    if (!plan.pve_copy || dest.to_stdout()) {
        dest.commit();
        return;
    }
    write_copy_sidecars(source, plan.path);
    try {
        dest.commit();
    } catch (...) {
        remove_copy_sidecars(plan.path);
        throw;
    }
}

}  // namespace

RestoreResult restore(const RestoreOptions& options, const Report& report)
{
    const fs::path file = fs::absolute(options.select ? select_backup(*options.select) : options.file);
    const std::string name = file.filename().string();
    const auto diff = store::parse_differential_name(name);
    const auto full = diff ? std::optional<store::BackupName>() : store::parse_backup_name(name);
    if (!diff && !full) {
        throw io::file_error(file.string(), "neither a differential nor a vzdump archive name");
    }
    if (!fs::is_regular_file(file)) {
        throw io::Error(fmt::format("cannot open '{}': no such file", file.string()));
    }
    if (options.select) {
        report("restoring " + file.string());
    }

    // What is written: the original archive's name, compressed as the output's name says.
    const store::BackupName original = diff ? store::restored_backup_name(*diff) : *full;
    const auto manifest = store::read_manifest(file);
    const OutputPlan plan = plan_output(options, original, backup_codec(diff, full, manifest));
    const fs::path& out_path = plan.path;
    const bool to_stdout = out_path.empty();
    const io::Codec codec = plan.codec;
    // Into standard output, a device or a FIFO: nothing is written beside the output.
    const bool to_stream = to_stdout || check_output(plan);

    RestoreResult result;
    result.source = file;
    result.codec = codec;
    if (!diff) {
        // As secret as the backup it comes from (mode, owner, group).
        io::OutputFile dest(to_stdout ? fs::path("-") : out_path, codec, {}, io::mode_like(file),
                            stream_rule(plan));
        io::DecodedInput in = io::open_decompressed(file.string());
        auto ahead = io::make_read_ahead(std::move(in.source));
        ProgressScope shown(options.progress, "restore " + name, manifest_size(manifest));
        io::CountingSink counting(dest.sink(), shown.updater());
        // A full's manifest records its SHA-256; whatever kind a manifest names is the
        // one checked.
        DigestingSink hashing(counting, manifest ? manifest->content_digest : store::ContentDigest::sha256,
                              file.string());
        io::copy_stream(*ahead, hashing);
        hashing.finish();
        const ContentDigester& got = hashing.digester();
        if (manifest) {
            check_content_digest(*manifest, got.bytes(), got.digest(), got.why_none(), file);
            result.checked_against_manifest = true;
        }
        commit_output(dest, plan, file);
        result.written = out_path;
        result.content_size = got.bytes();
        shown.finish();
        report("restored " + name + " (" + human_bytes(result.content_size) + ")" +
               (result.checked_against_manifest ? ", content verified" : "") + written_to(plan));
        return result;
    }

    const fs::path full_path = file.parent_path() / diff->full_file;
    if (!fs::is_regular_file(full_path)) {
        throw io::file_error(file.string(), "its full '{}' is missing", full_path.string());
    }
    // Refuse a full that is known not to be the one the differential was made against.
    const bool manifest_checks = manifest && manifest->delta;
    if (manifest_checks) {
        if (const auto full_manifest = store::read_manifest(full_path)) {
            if (const auto wrong =
                    store::full_mismatch(full_path, full_manifest->content_sha256,
                                         manifest->delta->full_content_sha256, fmt::format("'{}'", name))) {
                throw io::Error(*wrong + "; refusing to restore");
            }
        }
    }
    // Only the rebuilt archive is hashed: its digest against the differential's
    // manifest proves every byte written, whatever went wrong (a damaged or swapped
    // full, a damaged differential, a bug). The full is hashed only when that check
    // fails, to say whether the full is the wrong one; hashing it on every restore
    // (0.75 s of CPU per GB) would add nothing to the proof. Without a manifest there
    // is nothing to compare with: the windows' Adler-32 are the check.
    const ContentHashes hashes = manifest_checks ? ContentHashes::target : ContentHashes::none;
    // Beside a file written, else beside the backup (never into /dev for -o /dev/null).
    const fs::path spill_dir =
        scratch_dir(options.tmpdir, to_stream ? file.parent_path() : out_path.parent_path());
    // As secret as the backup it comes from (mode, owner, group).
    io::OutputFile dest(to_stdout ? fs::path("-") : out_path, codec, {}, io::mode_like(file),
                        stream_rule(plan));
    ProgressScope shown(options.progress, "restore " + name, manifest_size(manifest));
    io::CountingSink counting(dest.sink(), shown.updater());
    RebuildOutcome r;
    try {
        r = rebuild_archive(full_path.string(), file.string(), counting, spill_dir, hashes,
                            manifest_sizes(full_path, manifest),
                            manifest ? manifest->content_digest : store::ContentDigest::sha256);
    } catch (const io::Error&) {
        // A window that does not decode says "wrong full or corrupt delta". With a
        // manifest we can tell which, at the cost of reading the full once more.
        if (manifest_checks) {
            refuse_wrong_full(full_path, *manifest, name);
        }
        throw;
    }
    counting.finish();
    if (manifest_checks) {
        if (content_digest_mismatch(*manifest, r.target.size, r.target_digest, r.target_digest_none)) {
            refuse_wrong_full(full_path, *manifest, name);
        }
        check_content_digest(*manifest, r.target.size, r.target_digest, r.target_digest_none, file);
        result.checked_against_manifest = true;
    }
    commit_output(dest, plan, file);
    result.written = out_path;
    result.content_size = r.target.size;
    shown.finish();
    report("restored " + name + " (" + human_bytes(r.target.size) + ") from " + diff->full_file +
           (result.checked_against_manifest ? ", content verified"
                                            : ", no manifest: window checksums verified") +
           (r.decode.kept_aside_peak
                ? ", " + human_bytes(r.decode.kept_aside_peak) + " of the full kept aside"
                : "") +
           frames_note(r.decode) + written_to(plan));
    return result;
}

}  // namespace pvediff::commands
