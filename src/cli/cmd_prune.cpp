// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/prune.h"

namespace pvediff::cli {

namespace {
struct PruneArgs {
    std::string dir;
    std::uint32_t vmid = 0;
    bool dry_run = false;
    bool remove_orphans = false;
    std::optional<unsigned> last, hourly, daily, weekly, monthly, yearly;
};
}  // namespace

void add_prune_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto a = std::make_shared<PruneArgs>();
    auto* sub = app.add_subcommand("prune", "vzdump's keep-* retention, chain-aware: a full stays while a kept "
                                            "differential needs it");
    sub->add_option("dir", a->dir, "dump dir (default: dumpdir from the config)");
    sub->add_option("--vmid", a->vmid, "only this guest");
    sub->add_option("--keep-last", a->last);
    sub->add_option("--keep-hourly", a->hourly);
    sub->add_option("--keep-daily", a->daily);
    sub->add_option("--keep-weekly", a->weekly);
    sub->add_option("--keep-monthly", a->monthly);
    sub->add_option("--keep-yearly", a->yearly);
    sub->add_flag("--dry-run", a->dry_run, "print the plan, change nothing");
    sub->add_flag("--remove-orphans", a->remove_orphans, "also remove orphaned differentials and sidecars");
    sub->callback([a, &ctx, &chosen] {
        chosen = [a, &ctx] {
            const store::Config config = ctx.config();
            const bool cmdline_keep = a->last || a->hourly || a->daily || a->weekly || a->monthly || a->yearly;
            std::vector<std::string> dirs{a->dir};
            if (a->dir.empty()) {
                dirs = config.effective_global().dumpdirs;
            }
            if (dirs.empty()) {
                throw CLI::ValidationError("prune", "no directory given, and no dumpdir in the config");
            }
            commands::PruneRequest req;
            req.dry_run = a->dry_run;
            req.remove_orphans = a->remove_orphans;
            if (a->vmid) req.vmid = a->vmid;
            req.lock_timeout = config.effective_global().lock_timeout;
            req.keep_for = [a, &config, cmdline_keep](std::uint32_t vmid) {
                if (!cmdline_keep) {
                    return config.effective_for(vmid).keep;
                }
                store::KeepOptions k;
                k.last = a->last.value_or(0);
                k.hourly = a->hourly.value_or(0);
                k.daily = a->daily.value_or(0);
                k.weekly = a->weekly.value_or(0);
                k.monthly = a->monthly.value_or(0);
                k.yearly = a->yearly.value_or(0);
                return k;
            };
            for (const auto& d : dirs) {
                req.dir = d;
                commands::prune(req, ctx.to_stdout());
            }
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
