// SPDX-License-Identifier: GPL-2.0-or-later
#include <array>

#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/hook.h"

extern char** environ;

namespace pvediff::cli {

void add_hook_command(CLI::App& app, Context& ctx, Action& chosen)
{
    // Three positionals rather than one list, so the usage line reads as vzdump calls it.
    auto args = std::make_shared<std::array<std::string, 3>>();
    auto* sub =
        app.add_subcommand("hook", "vzdump hook entry point (script: /usr/share/pvediff/vzdump-hook)");
    sub->add_option("phase", (*args)[0], "the phase vzdump runs: job-start, backup-end, log-end, ...")
        ->required();
    sub->add_option("mode", (*args)[1], "the backup mode, for a guest's phases (snapshot, suspend, stop)");
    sub->add_option("vmid", (*args)[2], "the guest, for a guest's phases");
    sub->callback([args, &ctx, &chosen] {
        chosen = [args, &ctx] {
            commands::HookCall call;
            for (const auto& a : *args) {
                if (!a.empty()) {
                    call.args.push_back(a);
                }
            }
            // The environment vzdump gave (DUMPDIR, TARGET, VMTYPE, ...), also for a chained script.
            for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
                const std::string kv = *e;
                const auto eq = kv.find('=');
                if (eq != std::string::npos) {
                    call.env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
                }
            }
            return commands::run_hook(call, ctx.config(), ctx.to_stdout(), ctx.progress());
        };
    });
}

}  // namespace pvediff::cli
