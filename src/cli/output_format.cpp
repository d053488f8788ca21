// SPDX-License-Identifier: GPL-2.0-or-later
#include "output_format.h"

#include <cstdio>

#include "pvediff/store/names.h"

namespace pvediff::cli {

OutputFormatOption::OutputFormatOption(CLI::App& sub)
{
    sub.add_option("--output-format", *name_, "text (the default), json, or json-pretty")
        ->check(CLI::IsMember({"text", "json", "json-pretty"}));
    sub.add_flag("--json", *json_, "the same as --output-format json");
}

OutputFormat OutputFormatOption::format() const
{
    if (*name_ == "json-pretty") {
        return OutputFormat::json_pretty;
    }
    return *json_ || *name_ == "json" ? OutputFormat::json : OutputFormat::text;
}

nlohmann::json json_document(const std::string& command)
{
    return nlohmann::json{{"command", command}, {"schema_version", json_schema_version}};
}

void print_json(const nlohmann::json& doc, OutputFormat format)
{
    // Names in a dump dir are bytes, not necessarily UTF-8: replace what is not
    // valid rather than fail after the work is done.
    const std::string text = doc.dump(format == OutputFormat::json_pretty ? 2 : -1, ' ', false,
                                      nlohmann::json::error_handler_t::replace);
    std::fputs(text.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::string iso8601_utc(std::time_t t)
{
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

nlohmann::json backup_identity(const std::filesystem::path& file)
{
    nlohmann::json j{{"dir", file.parent_path().string()}, {"file", file.filename().string()}};
    const std::string name = file.filename().string();
    if (const auto d = store::parse_differential_name(name)) {
        j["guest_type"] = store::guest_type_name(d->full.type);
        j["vmid"] = d->full.vmid;
        j["time"] = iso8601_utc(d->time.time);
        j["full"] = d->full_file;
    } else if (const auto f = store::parse_backup_name(name)) {
        j["guest_type"] = store::guest_type_name(f->type);
        j["vmid"] = f->vmid;
        j["time"] = iso8601_utc(f->time.time);
        j["full"] = nullptr;
    }
    return j;
}

}  // namespace pvediff::cli
