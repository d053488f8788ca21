// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/restore.h"

namespace pvediff::cli {

void add_restore_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto opts = std::make_shared<commands::RestoreOptions>();
    auto compress = std::make_shared<std::string>();
    auto pve_dir = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("restore", "rebuild the archive a differential (or full) stands for");
    sub->add_option("file", opts->file, "differential or full")->required();
    sub->add_option("-o,--output", opts->output, "output file, or - for the raw archive on stdout "
                                                 "(| qmrestore - VMID, | pct restore VMID -)");
    sub->add_option("--compress", *compress, "zstd, lzo, gzip or none (default: raw to stdout, like the "
                                             "original to a file)");
    sub->add_option("--pve-name", *pve_dir, "write a standard-named archive into this directory, for the PVE GUI");
    sub->callback([opts, compress, pve_dir, &ctx, &chosen] {
        chosen = [opts, compress, pve_dir, &ctx] {
            if (!compress->empty()) {
                opts->compress = parse_codec_option(*compress);
            }
            if (!pve_dir->empty()) {
                opts->pve_dir = *pve_dir;
            }
            if (opts->output.empty() && !opts->pve_dir) {
                throw CLI::ValidationError("restore", "needs -o OUT, -o - or --pve-name DIR");
            }
            commands::restore(*opts, ctx.to_stderr());
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
