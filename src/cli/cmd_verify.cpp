// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>

#include "command_registry.h"
#include "json.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/verify.h"

namespace pvediff::cli {

namespace {

void print_table(const commands::VerifyReport& r)
{
    std::printf("%-6s %-13s %12s  %-22s %s\n", "RESULT", "KIND", "CONTENT", "CHECKSUM", "FILE / STRUCTURE");
    for (const auto& i : r.items) {
        std::printf("%-6s %-13s %12s  %-22s %s\n", i.ok ? "ok" : "FAILED", i.kind.c_str(),
                    commands::human_bytes(i.content_size).c_str(), commands::printable(i.content).c_str(), commands::printable(i.file).c_str());
        std::printf("%-6s %-13s %12s  %-22s   %s\n", "", "", "", "", commands::printable(i.structure).c_str());
        for (const auto& p : i.problems) {
            std::printf("%-6s %-13s %12s  %-22s   problem: %s\n", "", "", "", "", commands::printable(p).c_str());
        }
    }
    std::size_t failed = 0;
    for (const auto& i : r.items) {
        failed += i.ok ? 0 : 1;
    }
    std::printf("%zu checked, %zu failed\n", r.items.size(), failed);
}

void print_json(const commands::VerifyReport& r)
{
    std::printf("{\"ok\": %s, \"files\": [", r.ok() ? "true" : "false");
    for (std::size_t n = 0; n < r.items.size(); ++n) {
        const auto& i = r.items[n];
        std::printf("%s\n  {\"file\": %s, \"kind\": %s, \"ok\": %s, \"file_size\": %llu, \"content_size\": %llu, "
                    "\"content\": %s, \"structure\": %s, \"problems\": [",
                    n ? "," : "", json_string(i.file).c_str(), json_string(i.kind).c_str(), i.ok ? "true" : "false",
                    static_cast<unsigned long long>(i.file_size), static_cast<unsigned long long>(i.content_size),
                    json_string(i.content).c_str(), json_string(i.structure).c_str());
        for (std::size_t k = 0; k < i.problems.size(); ++k) {
            std::printf("%s%s", k ? ", " : "", json_string(i.problems[k]).c_str());
        }
        std::printf("]}");
    }
    std::printf("\n]}\n");
}

}  // namespace

void add_verify_command(CLI::App& app, Context& ctx, Action& chosen)
{
    auto paths = std::make_shared<std::vector<std::string>>();
    auto json = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand("verify", "rebuild and check every chain (content SHA-256, VMA/tar structure); "
                                             "exit 1 on any failure");
    sub->add_option("paths", *paths, "dump dirs or files (default: dumpdir from the config)");
    sub->add_flag("--json", *json, "machine-readable output");
    sub->callback([paths, json, &ctx, &chosen] {
        chosen = [paths, json, &ctx] {
            std::vector<std::filesystem::path> targets(paths->begin(), paths->end());
            if (targets.empty()) {
                for (const auto& d : ctx.config().effective_global().dumpdirs) {
                    targets.emplace_back(d);
                }
            }
            if (targets.empty()) {
                throw CLI::ValidationError("verify", "no directory or file given, and no dumpdir in the config");
            }
            const auto report = commands::verify_paths(targets, *json ? commands::Report([](const std::string&) {})
                                                                     : ctx.to_stderr());
            *json ? print_json(report) : print_table(report);
            return report.ok() ? exit_ok : exit_check_failed;
        };
    });
}

}  // namespace pvediff::cli
