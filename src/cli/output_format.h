// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `--output-format text|json|json-pretty` (and `--json`, the same as json) for the
// commands with a machine interface. The JSON each command writes is documented in
// docs/json-output.md; every document is one object with "command" and
// "schema_version" keys, sizes in bytes and times in ISO 8601 (UTC).
#include <CLI/CLI.hpp>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace pvediff::cli {

inline constexpr int json_schema_version = 1;

enum class OutputFormat { text, json, json_pretty };

// Adds both options to `sub`; the value is read after parsing through the returned object.
class OutputFormatOption {
public:
    explicit OutputFormatOption(CLI::App& sub);
    [[nodiscard]] OutputFormat format() const;
    [[nodiscard]] bool is_json() const { return format() != OutputFormat::text; }

private:
    std::shared_ptr<std::string> name_ = std::make_shared<std::string>("text");
    std::shared_ptr<bool> json_ = std::make_shared<bool>(false);
};

// {"command": <command>, "schema_version": 1}
nlohmann::json json_document(const std::string& command);
// Writes `doc` to stdout, compact on one line or indented, and a newline.
void print_json(const nlohmann::json& doc, OutputFormat format);
// "2026-11-20T01:00:00Z"
std::string iso8601_utc(std::time_t t);
// What a backup's file name says, for every command's JSON: "dir", "file",
// "guest_type", "vmid", "time" and, for a differential, "full" (null for a full);
// only "dir" and "file" for a name that is not a backup's.
nlohmann::json backup_identity(const std::filesystem::path& file);

}  // namespace pvediff::cli
