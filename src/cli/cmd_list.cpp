// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>
#include <ctime>

#include "command_registry.h"
#include "json.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/list.h"

namespace pvediff::cli {

namespace {

std::string age_of(std::time_t t)
{
    const double days = std::difftime(std::time(nullptr), t) / 86400.0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f d", days);
    return buf;
}

}  // namespace

void add_list_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto dir = std::make_shared<std::string>();
    auto vmid = std::make_shared<std::uint32_t>(0);
    auto json = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand("list", "chains with sizes, ratio to the full, age, orphans");
    sub->add_option("dir", *dir, "dump dir (default: dumpdir from the config)");
    sub->add_option("--vmid", *vmid, "only this guest");
    sub->add_flag("--json", *json, "machine-readable output");
    sub->callback([dir, vmid, json, &ctx, &chosen] {
        chosen = [dir, vmid, json, &ctx] {
            std::vector<std::string> dirs{*dir};
            if (dir->empty()) {
                dirs = ctx.config().effective_global().dumpdirs;
            }
            if (dirs.empty()) {
                throw CLI::ValidationError("list", "no directory given, and no dumpdir in the config");
            }
            const std::optional<std::uint32_t> only = *vmid ? std::optional(*vmid) : std::nullopt;
            bool first = true;
            if (*json) std::printf("[");
            for (const auto& d : dirs) {
                for (const auto& r : commands::list_dump_dir(d, only)) {
                    if (*json) {
                        std::printf("%s\n  {\"dir\": %s, \"guest\": %s, \"file\": %s, \"kind\": %s, \"time\": %lld, "
                                    "\"size\": %llu, \"ratio\": %.4f, \"manifest\": %s, \"protected\": %s, "
                                    "\"note\": %s}",
                                    first ? "" : ",", json_string(d).c_str(), json_string(r.guest).c_str(),
                                    json_string(r.file).c_str(), json_string(r.kind).c_str(),
                                    static_cast<long long>(r.time), static_cast<unsigned long long>(r.size), r.ratio,
                                    r.has_manifest ? "true" : "false", r.is_protected ? "true" : "false",
                                    json_string(r.note).c_str());
                    } else {
                        if (first) {
                            std::printf("%-10s %-13s %10s %7s %8s  %s\n", "GUEST", "KIND", "SIZE", "RATIO", "AGE",
                                        "FILE");
                        }
                        char ratio[16] = "";
                        if (r.kind == "differential") {
                            std::snprintf(ratio, sizeof ratio, "%.1f%%", 100.0 * r.ratio);
                        }
                        std::printf("%-10s %-13s %10s %7s %8s  %s%s%s\n", r.guest.c_str(), r.kind.c_str(),
                                    commands::human_bytes(r.size).c_str(), ratio, age_of(r.time).c_str(),
                                    r.kind == "differential" ? "  " : "", commands::printable(r.file).c_str(),
                                    r.note.empty() ? "" : commands::printable("  [" + r.note + "]").c_str());
                    }
                    first = false;
                }
            }
            if (*json) std::printf("\n]\n");
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
