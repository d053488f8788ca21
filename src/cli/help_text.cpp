// SPDX-License-Identifier: GPL-2.0-or-later
#include "help_text.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>

#include "pvediff/cli/exit_codes.h"

namespace pvediff::cli {

namespace {

// Greedy word wrap of one paragraph to `width` columns.
std::string wrap_line(const std::string& text, std::size_t width)
{
    std::istringstream words(text);
    std::string out;
    std::string line;
    std::string word;
    while (words >> word) {
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    return out + line;
}

// Descriptions are reflowed as one paragraph (a line break in one is a space).
std::string wrap(const std::string& text, std::size_t width)
{
    return wrap_line(text, width);
}

std::vector<std::string> subcommand_names(const CLI::App& app)
{
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        names.push_back(sub->get_name());
    }
    return names;
}

std::size_t edit_distance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

namespace {

void fit_options_and_subcommands(CLI::App& app, std::size_t width)
{
    app.get_formatter()->column_width(help_column);
    for (CLI::Option* opt : app.get_options()) {
        opt->description(wrap(opt->get_description(), width));
    }
    for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        // Shown in the list of its parent, beside the name column.
        sub->description(wrap(sub->get_description(), width));
        fit_options_and_subcommands(*sub, width);
    }
}

}  // namespace

void fit_help_to_width(CLI::App& app)
{
    app.description(wrap(app.get_description(), help_width));
    fit_options_and_subcommands(app, help_width - help_column);
}

std::optional<std::string> nearest_name(const std::string& word, const std::vector<std::string>& names)
{
    std::optional<std::string> best;
    std::size_t best_distance = 0;
    for (const auto& name : names) {
        const std::size_t d = edit_distance(word, name);
        if (!best || d < best_distance) {
            best = name;
            best_distance = d;
        }
    }
    // A typo changes a few letters; beyond that the suggestion would only confuse.
    if (!best || best_distance > std::max<std::size_t>(2, word.size() / 3)) {
        return std::nullopt;
    }
    return best;
}

std::optional<std::string> unknown_subcommand(const CLI::App& app, int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config") {
            ++i;  // its value
            continue;
        }
        if (arg.starts_with("-")) {
            continue;
        }
        const auto names = subcommand_names(app);
        if (std::find(names.begin(), names.end(), arg) != names.end()) {
            return std::nullopt;
        }
        return arg;
    }
    return std::nullopt;
}

void add_help_command(CLI::App& app, std::function<int()>& chosen)
{
    auto topic = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("help", "this help, or a command's: pvediff help COMMAND");
    sub->add_option("command", *topic, "the command to explain");
    sub->callback([&app, topic, &chosen] {
        chosen = [&app, topic] {
            if (topic->empty()) {
                // Not app.help(): with `help` selected, CLI11 would show help's own.
                std::fputs(
                    app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal).c_str(),
                    stdout);
                return static_cast<int>(exit_ok);
            }
            const auto names = subcommand_names(app);
            if (std::find(names.begin(), names.end(), *topic) == names.end()) {
                const auto near = nearest_name(*topic, names);
                std::fprintf(stderr, "pvediff: error: no command '%s'%s; see pvediff help\n", topic->c_str(),
                             near ? ("; did you mean '" + *near + "'?").c_str() : "");
                return static_cast<int>(exit_usage);
            }
            std::fputs(app.get_subcommand(*topic)->help().c_str(), stdout);
            return static_cast<int>(exit_ok);
        };
    });
}

}  // namespace pvediff::cli
