// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>

#include "command_registry.h"
#include "output_format.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/verify.h"

namespace pvediff::cli {

namespace {

void print_table(const commands::VerifyReport& r)
{
    std::printf("%-7s %-13s %12s  %-22s %s\n", "RESULT", "KIND", "CONTENT", "CHECKSUM", "FILE / STRUCTURE");
    for (const auto& i : r.items) {
        if (i.skipped) {
            std::printf("%-7s %-13s %12s  %-22s %s\n", "skipped", i.kind.c_str(),
                        commands::human_bytes(i.content_size).c_str(), "-",
                        commands::printable(i.file).c_str());
            std::printf("%-7s %-13s %12s  %-22s   %s\n", "", "", "", "",
                        commands::printable(i.reason).c_str());
            continue;
        }
        std::printf("%-7s %-13s %12s  %-22s %s\n", i.ok ? "ok" : "FAILED", i.kind.c_str(),
                    commands::human_bytes(i.content_size).c_str(), commands::printable(i.content).c_str(),
                    commands::printable(i.file).c_str());
        std::printf("%-7s %-13s %12s  %-22s   %s\n", "", "", "", "",
                    commands::printable(i.structure).c_str());
        if (!i.reason.empty()) {
            std::printf("%-7s %-13s %12s  %-22s   checked: %s\n", "", "", "", "",
                        commands::printable(i.reason).c_str());
        }
        for (const auto& p : i.problems) {
            std::printf("%-7s %-13s %12s  %-22s   problem: %s\n", "", "", "", "",
                        commands::printable(p).c_str());
        }
    }
    std::printf("%zu checked, %zu failed, %zu skipped (verified recently; --all checks them)\n", r.checked(),
                r.failed(), r.skipped());
}

nlohmann::json report_json(const commands::VerifyReport& r)
{
    nlohmann::json doc = json_document("verify");
    doc["ok"] = r.ok();
    doc["checked"] = r.checked();
    doc["skipped"] = r.skipped();
    doc["failed"] = r.failed();
    doc["files"] = nlohmann::json::array();
    for (const auto& i : r.items) {
        nlohmann::json f = i.dir.empty() ? nlohmann::json{{"dir", nullptr}, {"file", i.file}}
                                         : backup_identity(std::filesystem::path(i.dir) / i.file);
        f["kind"] = i.kind;
        f["ok"] = i.ok;
        f["file_size"] = i.file_size;
        f["content_size"] = i.content_size;
        f["content"] = i.content;
        f["content_digest"] =
            i.content_digest.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.content_digest);
        f["structure"] = i.structure;
        f["problems"] = i.problems;
        f["checked"] = !i.skipped;
        f["reason"] = i.reason;
        f["verified"] = i.verified_at ? nlohmann::json(iso8601_utc(*i.verified_at)) : nlohmann::json(nullptr);
        f["next_check"] = i.next_due ? nlohmann::json(iso8601_utc(*i.next_due)) : nlohmann::json(nullptr);
        doc["files"].push_back(std::move(f));
    }
    return doc;
}

}  // namespace

void add_verify_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto paths = std::make_shared<std::vector<std::string>>();
    auto all = std::make_shared<bool>(false);
    auto tmpdir = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("verify",
                                   "rebuild and check what is new, failed, changed or not verified "
                                   "within verify-every (content SHA-256, VMA/tar structure); "
                                   "exit 1 on any failure");
    sub->add_option("paths,--dumpdir", *paths,
                    "dump dirs or files (default: dumpdir from the config, else PVE's backup storages)");
    sub->add_flag("--all", *all, "check every backup, also those verified ok within verify-every");
    add_tmpdir_option(*sub, *tmpdir);
    auto format = std::make_shared<OutputFormatOption>(*sub);
    sub->callback([paths, all, tmpdir, format, &ctx, &chosen] {
        chosen = [paths, all, tmpdir, format, &ctx] {
            std::vector<std::filesystem::path> targets(paths->begin(), paths->end());
            if (targets.empty()) {
                for (const auto& d : ctx.dump_dirs()) {
                    targets.emplace_back(d);
                }
            }
            const store::Config config = ctx.config();
            commands::VerifyOptions options;
            options.all = *all;
            options.every_for = [&config](std::uint32_t vmid) {
                return config.effective_for(vmid).verify_every;
            };
            options.progress = ctx.progress();
            options.tmpdir = ctx.tmpdir(*tmpdir);
            const auto report = commands::verify_paths(
                targets, format->is_json() ? commands::Report([](const std::string&) {}) : ctx.to_stderr(),
                options);
            if (format->is_json()) {
                print_json(report_json(report), format->format());
            } else {
                print_table(report);
            }
            return report.ok() ? exit_ok : exit_check_failed;
        };
    });
}

}  // namespace pvediff::cli
