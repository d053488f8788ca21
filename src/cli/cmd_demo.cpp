// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/demo.h"

namespace pvediff::cli {

void add_demo_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto keep = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("demo", "show the whole cycle on generated data in a temporary dump dir");
    sub->add_option("--keep", *keep, "build the demo in this directory and keep it");
    sub->callback([keep, &ctx, &chosen] {
        chosen = [keep, &ctx] {
            commands::DemoOptions o;
            if (!keep->empty()) {
                o.keep_dir = *keep;
            }
            return commands::run_demo(o, ctx.to_stdout()) ? exit_ok : exit_check_failed;
        };
    });
}

}  // namespace pvediff::cli
