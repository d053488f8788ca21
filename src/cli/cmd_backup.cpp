// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/backup.h"

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
};
}  // namespace

void add_backup_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto a = std::make_shared<BackupArgs>();
    auto* sub = app.add_subcommand("backup", "keep a finished vzdump archive as a full, or replace it by a "
                                             "verified differential; '-' reads `vzdump --stdout`");
    sub->add_option("archive", a->archive, "the archive in its dump dir, or - for standard input")->required();
    sub->add_option("--vmid", a->vmid, "guest id (with -)");
    sub->add_option("--type", a->type, "qemu or lxc (with -)")->check(CLI::IsMember({"qemu", "lxc"}));
    sub->add_option("--dumpdir", a->dumpdir, "dump directory (with -)");
    sub->add_option("--compress", a->compress, "zstd, lzo, gzip or none: differentials (and a full from -)");
    sub->add_option("--fullbackup", a->fullbackup, "days between fulls (or 36h, 2w); overrides the config");
    sub->add_option("--engine", a->engine, "delta engine (default: chunked)");
    sub->add_option("--now", a->now, "the backup's time for -, seconds since the epoch (for tests)")->group("");
    sub->callback([a, &ctx, &chosen] {
        chosen = [a, &ctx] {
            store::Settings cmdline;
            if (!a->fullbackup.empty()) {
                store::apply_setting(cmdline, "fullbackup", a->fullbackup);
            }
            if (!a->compress.empty()) {
                store::apply_setting(cmdline, "compress", a->compress);
            }
            if (!a->engine.empty()) {
                store::apply_setting(cmdline, "engine", a->engine);
            }
            const store::Config config = ctx.config();
            if (a->archive != "-") {
                const auto name = store::parse_backup_name(std::filesystem::path(a->archive).filename().string());
                commands::backup_archive(a->archive, config.effective_for(name ? name->vmid : 0, cmdline),
                                         ctx.to_stdout());
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
            commands::backup_stream(o, config.effective_for(a->vmid, cmdline), ctx.to_stdout());
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
