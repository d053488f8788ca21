// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/mount.h"

namespace pvediff::cli {

void add_mount_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto opts = std::make_shared<commands::MountOptions>();
    auto dump_dir = std::make_shared<std::string>();
    auto mount_point = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("mount",
                                   "show every backup, differentials as plain archives, in a read-only "
                                   "FUSE view for a PVE Directory storage");
    sub->add_option("dumpdir", *dump_dir, "dump dir to show (default: mount-source of the configuration)");
    sub->add_option("mountpoint", *mount_point,
                    "where to show it (default: mount-point of the configuration)");
    sub->add_flag("-f,--foreground", opts->foreground, "stay in the foreground (systemd, debugging)");
    sub->add_flag("--allow-other", opts->allow_other, "let users other than root read the view");
    sub->add_option("--spill-dir", opts->spill_dir,
                    "decoder scratch files (default: tmpdir of the config, else $TMPDIR or /tmp)");
    sub->callback([opts, dump_dir, mount_point, &ctx, &chosen] {
        chosen = [opts, dump_dir, mount_point, &ctx] {
            if (dump_dir->empty() || mount_point->empty()) {
                const auto settings = ctx.config().effective_global();
                if (dump_dir->empty()) {
                    *dump_dir = settings.mount_source;
                }
                if (mount_point->empty()) {
                    *mount_point = settings.mount_point;
                }
            }
            if (dump_dir->empty() || mount_point->empty()) {
                throw CLI::ValidationError(
                    "mount",
                    "needs DUMPDIR MOUNTPOINT, or mount-source and mount-point in " + ctx.config_path);
            }
            if (opts->spill_dir.empty()) {
                opts->spill_dir = ctx.tmpdir({});
            }
            opts->dump_dir = *dump_dir;
            opts->mount_point = *mount_point;
            return commands::mount(*opts, ctx.to_stderr());
        };
    });
}

}  // namespace pvediff::cli
