// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "output_format.h"
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
    auto* sub = app.add_subcommand("prune",
                                   "vzdump's keep-* retention, chain-aware: a full stays while a kept "
                                   "differential needs it");
    sub->add_option("dir,--dumpdir", a->dir,
                    "dump dir (default: dumpdir from the config, else PVE's backup storages)");
    sub->add_option("--vmid", a->vmid, "only this guest");
    sub->add_option("--keep-last", a->last,
                    "keep the N newest backups (any --keep-* replaces the config's retention)");
    sub->add_option("--keep-hourly", a->hourly, "keep the newest backup of each of the last N hours");
    sub->add_option("--keep-daily", a->daily, "keep the newest backup of each of the last N days");
    sub->add_option("--keep-weekly", a->weekly, "keep the newest backup of each of the last N weeks");
    sub->add_option("--keep-monthly", a->monthly, "keep the newest backup of each of the last N months");
    sub->add_option("--keep-yearly", a->yearly, "keep the newest backup of each of the last N years");
    sub->add_flag("--dry-run", a->dry_run, "print the plan, change nothing");
    auto format = std::make_shared<OutputFormatOption>(*sub);
    sub->add_flag("--remove-orphans", a->remove_orphans, "also remove orphaned differentials and sidecars");
    sub->callback([a, format, &ctx, &chosen] {
        chosen = [a, format, &ctx] {
            const store::Config config = ctx.config();
            const bool cmdline_keep =
                a->last || a->hourly || a->daily || a->weekly || a->monthly || a->yearly;
            const std::vector<std::string> dirs =
                a->dir.empty() ? ctx.dump_dirs() : std::vector<std::string>{a->dir};
            commands::PruneRequest req;
            req.dry_run = a->dry_run;
            req.remove_orphans = a->remove_orphans;
            if (a->vmid)
                req.vmid = a->vmid;
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
            nlohmann::json doc = json_document("prune");
            doc["dry_run"] = a->dry_run;
            doc["dumpdirs"] = nlohmann::json::array();
            for (const auto& d : dirs) {
                req.dir = d;
                // With JSON on stdout, the plan's lines go to stderr.
                const auto s = commands::prune(req, format->is_json() ? ctx.to_stderr() : ctx.to_stdout());
                nlohmann::json backups = nlohmann::json::array();
                for (const auto& l : s.lines) {
                    backups.push_back({{"guest_type", store::guest_type_name(l.type)},
                                       {"vmid", l.vmid},
                                       {"file", l.file},
                                       {"action", l.action},
                                       {"reason", l.reason}});
                }
                doc["dumpdirs"].push_back(
                    {{"dir", d},
                     {"backups", backups},
                     {"totals", {{"kept", s.kept}, {"removed", s.removed}, {"orphans", s.orphans}}}});
            }
            if (format->is_json()) {
                print_json(doc, format->format());
            }
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
