// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/hook.h"

extern char** environ;

namespace pvediff::cli {

void add_hook_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto args = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("hook", "vzdump hook entry point: PHASE [MODE VMID] "
                                           "(script: /usr/share/pvediff/vzdump-hook)");
    sub->add_option("args", *args, "PHASE [MODE VMID], as vzdump passes them")->required()->expected(1, 3);
    sub->callback([args, &ctx, &chosen] {
        chosen = [args, &ctx] {
            commands::HookCall call;
            call.args = *args;
            // The environment vzdump gave (DUMPDIR, TARGET, VMTYPE, ...), also for a chained script.
            for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
                const std::string kv = *e;
                const auto eq = kv.find('=');
                if (eq != std::string::npos) {
                    call.env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
                }
            }
            return commands::run_hook(call, ctx.config(), ctx.to_stdout());
        };
    });
}

}  // namespace pvediff::cli
