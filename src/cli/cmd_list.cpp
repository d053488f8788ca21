// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>
#include <ctime>

#include "command_registry.h"
#include "output_format.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/list.h"
#include "pvediff/commands/report.h"
#include "pvediff/io/error.h"

namespace pvediff::cli {

namespace {

std::string age_of(std::time_t t)
{
    const double days = std::difftime(std::time(nullptr), t) / 86400.0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f d", days);
    return buf;
}

nlohmann::json verified_json(const std::optional<commands::VerifiedState>& v)
{
    if (!v) {
        return nullptr;
    }
    return {{"time", iso8601_utc(v->time)}, {"ok", v->ok}, {"current", v->current}};
}

// "ok 2.0 d", "FAILED 0.1 d", "changed" (the file is not the one verified), "-".
std::string verified_text(const std::optional<commands::VerifiedState>& v)
{
    if (!v) {
        return "-";
    }
    if (!v->current) {
        return "changed";
    }
    return (v->ok ? "ok " : "FAILED ") + age_of(v->time);
}

nlohmann::json totals_json(const commands::SpaceTotals& t)
{
    return {{"backups", t.backups},
            {"size", t.size},
            {"vzdump_size", t.vzdump_size},
            {"saved", t.vzdump_size > t.size ? t.vzdump_size - t.size : 0}};
}

nlohmann::json listing_json(const commands::Listing& l)
{
    nlohmann::json backups = nlohmann::json::array();
    for (const auto& r : l.rows) {
        backups.push_back({{"guest_type", store::guest_type_name(r.type)},
                           {"vmid", r.vmid},
                           {"file", r.file},
                           {"kind", r.kind},
                           {"full", r.full.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.full)},
                           {"time", iso8601_utc(r.time)},
                           {"size", r.size},
                           {"ratio", r.ratio},
                           {"vzdump_size", r.vzdump_size},
                           {"manifest", r.has_manifest},
                           {"content_digest",
                            r.content_digest ? nlohmann::json(store::content_digest_name(*r.content_digest))
                                             : nlohmann::json(nullptr)},
                           {"protected", r.is_protected},
                           {"note", r.note},
                           {"verified", verified_json(r.verified)}});
    }
    nlohmann::json guests = nlohmann::json::array();
    for (const auto& g : l.guests) {
        guests.push_back({{"guest_type", store::guest_type_name(g.type)},
                          {"vmid", g.vmid},
                          {"totals", totals_json(g.totals)}});
    }
    return {
        {"dir", l.dir.string()}, {"backups", backups}, {"guests", guests}, {"totals", totals_json(l.totals)}};
}

std::string saved_text(const commands::SpaceTotals& t)
{
    const double share =
        t.vzdump_size ? 100.0 * static_cast<double>(t.size) / static_cast<double>(t.vzdump_size) : 0;
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.0f%%", share);
    return commands::human_bytes(t.size) + " kept where vzdump alone would keep ~" +
           commands::human_bytes(t.vzdump_size) + " (" + pct + ")";
}

void print_table(const commands::Listing& l, bool& header_done)
{
    if (!header_done && !l.rows.empty()) {
        std::printf("%-10s %-13s %10s %7s %8s %-12s %s\n", "GUEST", "KIND", "SIZE", "RATIO", "AGE",
                    "VERIFIED", "FILE");
        header_done = true;
    }
    for (const auto& r : l.rows) {
        char ratio[16] = "";
        if (r.kind == "differential") {
            std::snprintf(ratio, sizeof ratio, "%.1f%%", 100.0 * r.ratio);
        }
        std::printf("%-10s %-13s %10s %7s %8s %-12s %s%s%s\n", r.guest.c_str(), r.kind.c_str(),
                    commands::human_bytes(r.size).c_str(), ratio, age_of(r.time).c_str(),
                    verified_text(r.verified).c_str(), r.kind == "differential" ? "  " : "",
                    commands::printable(r.file).c_str(),
                    r.note.empty() ? "" : commands::printable("  [" + r.note + "]").c_str());
    }
    for (const auto& g : l.guests) {
        std::printf("total %s %u: %zu backups, %s\n", std::string(store::guest_type_name(g.type)).c_str(),
                    g.vmid, g.totals.backups, saved_text(g.totals).c_str());
    }
    std::printf("total %s: %zu backups, %s\n", commands::printable(l.dir.string()).c_str(), l.totals.backups,
                saved_text(l.totals).c_str());
}

}  // namespace

void add_list_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto dir = std::make_shared<std::string>();
    auto vmid = std::make_shared<std::uint32_t>(0);
    auto* sub = app.add_subcommand("list",
                                   "chains with sizes, ratio to the full, age, orphans, and the space "
                                   "saved against vzdump alone");
    sub->add_option("dir,--dumpdir", *dir,
                    "dump dir (default: dumpdir from the config, else PVE's backup storages)");
    sub->add_option("--vmid", *vmid, "only this guest (an error when it has no backup)");
    auto format = std::make_shared<OutputFormatOption>(*sub);
    sub->callback([dir, vmid, format, &ctx, &chosen] {
        chosen = [dir, vmid, format, &ctx] {
            const std::vector<std::string> dirs =
                dir->empty() ? ctx.dump_dirs() : std::vector<std::string>{*dir};
            const std::optional<std::uint32_t> only = *vmid ? std::optional(*vmid) : std::nullopt;
            std::vector<commands::Listing> listings;
            std::size_t found = 0;
            for (const auto& d : dirs) {
                listings.push_back(commands::list_dump_dir(d, only));
                found += listings.back().rows.size();
            }
            if (only && found == 0) {
                std::string where;
                for (const auto& d : dirs) {
                    where += (where.empty() ? "'" : ", '") + d + "'";
                }
                throw io::Error("no backup of guest " + std::to_string(*only) + " in " + where);
            }
            if (format->is_json()) {
                nlohmann::json doc = json_document("list");
                doc["dumpdirs"] = nlohmann::json::array();
                for (const auto& l : listings) {
                    doc["dumpdirs"].push_back(listing_json(l));
                }
                print_json(doc, format->format());
                return exit_ok;
            }
            bool header_done = false;
            for (const auto& l : listings) {
                print_table(l, header_done);
            }
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
