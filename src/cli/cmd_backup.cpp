// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "nbd_options.h"
#include "output_format.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/backup.h"
#include "pvediff/commands/backup_done.h"
#include "pvediff/io/error.h"

namespace pvediff::cli {

namespace {
struct BackupArgs {
    std::string archive;
    std::uint32_t vmid = 0;
    std::string type;
    std::string dumpdir;
    std::string compress;
    std::string fullbackup;
    std::string engine;
    std::int64_t now = 0;
    std::vector<std::string> nbd;  // DEVICE=URI
    std::string bitmap;
    std::string bitmap_mode = "reuse";
    std::string guest_config;
    std::string tmpdir;
};
}  // namespace

void add_backup_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto a = std::make_shared<BackupArgs>();
    auto* sub = app.add_subcommand("backup",
                                   "keep a finished vzdump archive as a full, or replace it by a "
                                   "verified differential; '-' reads `vzdump --stdout`");
    sub->add_option("archive", a->archive, "the archive in its dump dir, or - for standard input");
    sub->add_option("--vmid", a->vmid, "guest id (with -)");
    sub->add_option("--type", a->type, "guest type, qemu or lxc (with -)")
        ->check(CLI::IsMember({"qemu", "lxc"}));
    sub->add_option("--dumpdir", a->dumpdir, "dump directory (with -)");
    sub->add_option("--compress", a->compress, "zstd, lzo, gzip or none: differentials (and a full from -)");
    sub->add_option("--fullbackup", a->fullbackup, "days between fulls (or 36h, 2w); overrides the config");
    sub->add_option("--engine", a->engine, "delta engine: chunked (the default) or xdelta3");
    sub->add_option("--nbd", a->nbd,
                    "DEVICE=URI: read a VM disk from an NBD export, once per disk (docs/nbd.md)");
    sub->add_option("--bitmap", a->bitmap, "with --nbd: the dirty bitmap on every export");
    sub->add_option("--bitmap-mode", a->bitmap_mode, "with --bitmap: reuse (default) or new (just created)")
        ->check(CLI::IsMember({"new", "reuse"}));
    sub->add_option("--guest-config", a->guest_config, "with --nbd: the guest's qemu-server.conf");
    add_tmpdir_option(*sub, a->tmpdir);
    auto format = std::make_shared<OutputFormatOption>(*sub);
    sub->add_option("--now", a->now, "the backup's time for -, seconds since the epoch (for tests)")
        ->group("");
    sub->callback([a, format, &ctx, &chosen] {
        chosen = [a, format, &ctx] {
            // With JSON on stdout, the report lines go to stderr.
            const commands::Report report = format->is_json() ? ctx.to_stderr() : ctx.to_stdout();
            const auto print = [&format](const std::filesystem::path& archive, const char* result,
                                         const commands::BackupResult* r,
                                         const nlohmann::json& nbd = nullptr) {
                if (!format->is_json()) {
                    return;
                }
                nlohmann::json doc = json_document("backup");
                doc["archive"] = backup_identity(std::filesystem::absolute(archive));
                doc["result"] = result;
                doc["written"] =
                    r && !r->written.empty() ? backup_identity(r->written) : nlohmann::json(nullptr);
                doc["file_size"] = r ? r->file_size : 0;
                doc["content_size"] = r ? r->content_size : 0;
                doc["frames"] = r && r->framing ? nlohmann::json{{"written", r->framing->written},
                                                                 {"note", r->framing->note}}
                                                : nlohmann::json(nullptr);
                if (!nbd.is_null()) {
                    doc["nbd"] = nbd;
                }
                print_json(doc, format->format());
            };
            store::Settings cmdline;
            // A bad value on the command line is a usage error (2), not a failed backup.
            const auto set = [&cmdline](const char* key, const std::string& value) {
                if (value.empty()) {
                    return;
                }
                try {
                    store::apply_setting(cmdline, key, value);
                } catch (const io::Error& e) {
                    throw CLI::ValidationError(std::string("--") + key, e.what());
                }
            };
            set("fullbackup", a->fullbackup);
            set("compress", a->compress);
            set("engine", a->engine);
            set("tmpdir", ctx.tmpdir(a->tmpdir));  // the one rule of every command (Context::tmpdir)
            const store::Config config = ctx.config();
            if (!a->nbd.empty()) {
                if (!a->archive.empty() || (!a->type.empty() && a->type != "qemu")) {
                    throw CLI::ValidationError("backup --nbd",
                                               "takes no archive and backs up qemu guests only");
                }
                auto o = nbd_backup_options(a->nbd, a->bitmap, a->bitmap_mode);
                o.vmid = a->vmid;
                o.dumpdir = a->dumpdir;
                o.guest_config = a->guest_config;
                if (!a->compress.empty()) {
                    o.full_codec = parse_codec_option(a->compress);
                }
                if (a->now != 0) {
                    o.now = a->now;
                }
                const auto r =
                    commands::backup_nbd(o, config.effective_for(a->vmid, cmdline), report, ctx.progress());
                nlohmann::json nbd{
                    {"dirty_only", r.dirty_only}, {"bytes_read", r.bytes_read}, {"planned", r.planned}};
                if (r.planned) {
                    nbd["records"] = r.by_records ? nlohmann::json{{"extents", r.extents},
                                                                   {"extents_touched", r.extents_touched},
                                                                   {"frames_read", r.frames_read},
                                                                   {"previous_changed", r.previous_changed}}
                                                  : nlohmann::json(nullptr);
                    nbd["records_not_used"] =
                        r.by_records ? nlohmann::json(nullptr) : nlohmann::json(r.records_not_used);
                }
                nbd["full_read_reason"] =
                    r.dirty_only ? nlohmann::json(nullptr) : nlohmann::json(r.full_read_reason);
                print(r.backup.written, r.backup.differential ? "differential" : "full", &r.backup, nbd);
                return exit_ok;
            }
            if (a->archive.empty()) {
                throw CLI::ValidationError("backup", "needs an archive, - or --nbd");
            }
            if (a->archive != "-") {
                if (const auto done = commands::replaced_by(a->archive)) {
                    report(std::filesystem::path(a->archive).filename().string() + ": already replaced by " +
                           done->filename().string() + "; nothing to do");
                    commands::BackupResult r;
                    r.differential = true;
                    r.written = *done;
                    print(a->archive, "already-done", &r);
                    return exit_ok;
                }
                const auto name =
                    store::parse_backup_name(std::filesystem::path(a->archive).filename().string());
                const auto r = commands::backup_archive(
                    a->archive, config.effective_for(name ? name->vmid : 0, cmdline), report, ctx.progress());
                print(a->archive, r.differential ? "differential" : "full", &r);
                return exit_ok;
            }
            if (a->vmid == 0 || a->type.empty() || a->dumpdir.empty()) {
                throw CLI::ValidationError("backup -", "needs --vmid, --type and --dumpdir");
            }
            commands::StreamBackupOptions o;
            o.vmid = a->vmid;
            o.type = *store::parse_guest_type(a->type);
            o.dumpdir = a->dumpdir;
            if (!a->compress.empty()) {
                o.full_codec = parse_codec_option(a->compress);
            }
            if (a->now != 0) {
                o.now = a->now;
            }
            const auto r = commands::backup_stream(std::move(o), config.effective_for(a->vmid, cmdline),
                                                   report, ctx.progress());
            print(r.written, r.differential ? "differential" : "full", &r);
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
