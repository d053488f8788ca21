// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/restore.h"

#include "pvediff/commands/pipeline.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/output_file.h"
#include "pvediff/io/threaded_stream.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/names.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

// An archive written into a dump dir (--pve-name) is marked a restored copy before
// it gets its name, so that no backup takes it for a new archive, finishes or
// converts it, and prune leaves it alone (store/entry_name.h, restored_suffix).
void commit_destination(io::OutputFile& d, bool into_dump_dir)
{
    if (!into_dump_dir || d.to_stdout()) {
        d.commit();
        return;
    }
    const fs::path marker = d.path().string() + std::string(store::restored_suffix);
    io::write_file_atomic(marker, "written by pvediff restore --pve-name\n");
    try {
        d.commit();
    } catch (...) {
        io::remove_entry(marker);
        throw;
    }
}

void check_digest(const io::Digest& got, const io::Digest& want, const std::string& what)
{
    if (got != want) {
        throw io::Error(what + ": content SHA-256 " + io::to_hex(got) + " does not match the manifest's " +
                        io::to_hex(want));
    }
}

}  // namespace

RestoreResult restore(const RestoreOptions& options, const Report& report)
{
    const fs::path file = fs::absolute(options.file);
    const std::string name = file.filename().string();
    const auto diff = store::parse_differential_name(name);
    const auto full = diff ? std::optional<store::BackupName>() : store::parse_backup_name(name);
    if (!diff && !full) {
        throw io::Error("'" + file.string() + "': neither a differential nor a vzdump archive name");
    }
    if (!fs::is_regular_file(file)) {
        throw io::Error("cannot open '" + file.string() + "': no such file");
    }

    // What is written: the original archive's name, raw to stdout unless asked.
    const store::BackupName original = diff ? store::restored_backup_name(*diff) : *full;
    const bool to_stdout = !options.pve_dir && options.output == "-";
    const io::Codec original_codec = store::to_io_codec(original.codec).value_or(io::Codec::zstd);
    const io::Codec codec = options.compress.value_or(to_stdout ? io::Codec::none : original_codec);
    fs::path out_path;
    if (options.pve_dir) {
        store::BackupName pve = original;
        pve.codec = store::from_io_codec(codec);
        pve.tgz = false;
        out_path = fs::absolute(*options.pve_dir) / store::format_backup_name(pve);
    } else if (!to_stdout) {
        if (options.output.empty()) {
            throw io::Error("restore needs -o OUT, -o - or --pve-name DIR");
        }
        out_path = fs::absolute(options.output);
    }
    if (!out_path.empty() && fs::exists(out_path)) {
        throw io::Error("'" + out_path.string() + "' exists already");
    }

    const auto manifest = store::read_manifest(file);
    RestoreResult result;
    if (!diff) {
        // As secret as the backup it comes from (mode, owner, group).
        io::OutputFile dest(to_stdout ? fs::path("-") : out_path, codec, {}, io::mode_like(file));
        io::DecodedInput in = io::open_decompressed(file.string());
        auto ahead = io::make_read_ahead(std::move(in.source));
        io::HashingSink hashing(dest.sink());
        io::copy_stream(*ahead, hashing);
        hashing.finish();
        const io::Digest got = hashing.digest();
        if (manifest) {
            check_digest(got, manifest->content_sha256, "'" + file.string() + "'");
            result.checked_against_manifest = true;
        }
        commit_destination(dest, options.pve_dir.has_value());
        result.written = out_path;
        result.content_size = hashing.bytes();
        report("restored " + name + " (" + human_bytes(result.content_size) + ")" +
               (result.checked_against_manifest ? ", content verified" : ""));
        return result;
    }

    const fs::path full_path = file.parent_path() / diff->full_file;
    if (!fs::is_regular_file(full_path)) {
        throw io::Error("'" + file.string() + "': its full '" + full_path.string() + "' is missing");
    }
    // Refuse a full that is known not to be the one the differential was made against.
    if (manifest && manifest->delta) {
        if (const auto full_manifest = store::read_manifest(full_path)) {
            if (const auto wrong = store::full_mismatch(full_path, full_manifest->content_sha256,
                                                        manifest->delta->full_content_sha256, "'" + name + "'")) {
                throw io::Error(*wrong + "; refusing to restore");
            }
        }
    }
    // As secret as the backup it comes from (mode, owner, group).
    io::OutputFile dest(to_stdout ? fs::path("-") : out_path, codec, {}, io::mode_like(file));
    const fs::path spill_dir = out_path.empty() ? file.parent_path() : out_path.parent_path();
    RebuildOutcome r;
    try {
        r = rebuild_archive(full_path.string(), file.string(), dest.sink(), spill_dir, ContentHashes::both,
                            manifest_sizes(full_path, manifest));
    } catch (const io::Error&) {
        // A window that does not decode says "wrong full or corrupt delta". With a
        // manifest we can tell which, at the cost of reading the full once more.
        if (manifest && manifest->delta) {
            const ContentInfo full_content = hash_content(full_path.string());
            if (const auto wrong = store::full_mismatch(full_path, full_content.sha256,
                                                        manifest->delta->full_content_sha256, "'" + name + "'")) {
                throw io::Error(*wrong + "; refusing to restore");
            }
        }
        throw;
    }
    dest.finish();
    if (manifest && manifest->delta) {
        check_digest(r.base.sha256, manifest->delta->full_content_sha256, "'" + full_path.string() + "' (the full)");
        check_digest(r.target.sha256, manifest->content_sha256, "'" + file.string() + "'");
        result.checked_against_manifest = true;
    }
    commit_destination(dest, options.pve_dir.has_value());
    result.written = out_path;
    result.content_size = r.target.size;
    report("restored " + name + " (" + human_bytes(r.target.size) + ") from " + diff->full_file +
           (result.checked_against_manifest ? ", content verified" : ", no manifest: window checksums verified") +
           (r.decode.kept_aside_peak ? ", " + human_bytes(r.decode.kept_aside_peak) + " of the full kept aside" : ""));
    return result;
}

}  // namespace pvediff::commands
