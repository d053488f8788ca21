// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "output_format.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/restore.h"

namespace pvediff::cli {

namespace {

struct RestoreArgs {
    commands::RestoreOptions opts;
    std::string file;
    std::string compress;
    std::string pve_dir;
    std::string dumpdir;
    std::uint32_t vmid = 0;
    std::string type;
    std::string at;
    bool latest = false;
    std::string tmpdir;
};

// --vmid with --at or --latest instead of a file name.
commands::BackupSelection selection_from(const RestoreArgs& a, const Context& ctx)
{
    commands::BackupSelection s;
    s.vmid = a.vmid;
    if (!a.type.empty()) {
        s.type = store::parse_guest_type(a.type);
    }
    if (a.latest == !a.at.empty()) {
        throw CLI::ValidationError("restore", "--vmid needs one of --at WHEN or --latest");
    }
    if (a.latest) {
        s.when.latest = true;
    } else if (const auto when = store::parse_time_selector(a.at)) {
        s.when = *when;
    } else {
        throw CLI::ValidationError(
            "--at", "expected a date (2026-11-21) or a time stamp (2026-11-21T01:00:00), not '" + a.at + "'");
    }
    if (!a.dumpdir.empty()) {
        s.dumpdirs = {a.dumpdir};
    } else {
        for (const auto& d : ctx.dump_dirs()) {
            s.dumpdirs.emplace_back(d);
        }
    }
    return s;
}

}  // namespace

void add_restore_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto a = std::make_shared<RestoreArgs>();
    auto* sub = app.add_subcommand("restore", "rebuild the archive a differential (or full) stands for");
    sub->add_option("file", a->file, "differential or full (or find one with --vmid)");
    sub->add_option("-o,--output", a->opts.output,
                    "output file, compressed as its extension says (.vma/.tar raw;\n"
                    ".zst/.lzo/.gz); - for the raw archive on stdout\n"
                    "(| qmrestore - VMID, | pct restore VMID -)");
    sub->add_option("--compress", a->compress,
                    "zstd, lzo, gzip or none; must agree with -o's extension\n"
                    "(default: as -o's name says, raw to stdout)");
    sub->add_option("--pve-name", a->pve_dir,
                    "write a standard-named archive into DIR for the PVE GUI,\n"
                    "compressed like the backup, with its .notes (not with -o)");
    sub->add_option("--dumpdir", a->dumpdir, "with --vmid: where to look (default: as list)");
    sub->add_option("--vmid", a->vmid, "restore guest VMID's backup picked by --at or --latest");
    sub->add_option("--type", a->type, "with --vmid: qemu, lxc or openvz (needed when both exist)")
        ->check(CLI::IsMember({"qemu", "lxc", "openvz"}));
    sub->add_option("--at", a->at,
                    "with --vmid: a date (2026-11-21, the newest backup that day)\n"
                    "or a time stamp (2026-11-21T01:00:00, exactly that one)");
    sub->add_flag("--latest", a->latest, "with --vmid: the newest backup");
    add_tmpdir_option(*sub, a->tmpdir);
    auto format = std::make_shared<OutputFormatOption>(*sub);
    sub->callback([a, format, &ctx, &chosen] {
        chosen = [a, format, &ctx] {
            commands::RestoreOptions opts = a->opts;
            const bool by_guest = a->vmid != 0;
            if (by_guest == !a->file.empty()) {
                throw CLI::ValidationError("restore",
                                           "give a backup file or --vmid (with --at or --latest), not both");
            }
            if (!by_guest && (!a->at.empty() || a->latest || !a->type.empty() || !a->dumpdir.empty())) {
                throw CLI::ValidationError("restore", "--at, --latest, --type and --dumpdir go with --vmid");
            }
            if (by_guest) {
                opts.select = selection_from(*a, ctx);
            } else {
                opts.file = a->file;
            }
            if (!a->compress.empty()) {
                opts.compress = parse_codec_option(a->compress);
            }
            if (!a->pve_dir.empty()) {
                opts.pve_dir = a->pve_dir;
            }
            if (opts.output.empty() && !opts.pve_dir) {
                throw CLI::ValidationError("restore", "needs -o OUT, -o - or --pve-name DIR");
            }
            if (format->is_json() && opts.output == "-") {
                throw CLI::ValidationError("restore", "JSON goes to stdout, which -o - gives to the archive");
            }
            opts.progress = ctx.progress();
            opts.tmpdir = ctx.tmpdir(a->tmpdir);
            const auto r = commands::restore(opts, ctx.to_stderr());
            if (format->is_json()) {
                nlohmann::json doc = json_document("restore");
                doc["source"] = backup_identity(r.source);
                doc["written"] =
                    r.written.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.written.string());
                doc["codec"] = io::codec_name(r.codec);
                doc["content_size"] = r.content_size;
                doc["content_verified"] = r.checked_against_manifest;
                print_json(doc, format->format());
            }
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
