// SPDX-License-Identifier: GPL-2.0-or-later
#include <fmt/ranges.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include "command_registry.h"
#include "help_text.h"
#include "logging.h"
#include "progress_display.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/usage_error.h"
#include "pvediff/io/error.h"
#include "pvediff/io/parse_number.h"
#include "pvediff/store/guest_lock.h"
#include "pvediff/store/pve_storage.h"
#include "pvediff/version.h"

namespace pvediff::cli {

namespace {
// A bad configuration is a usage error (exit 2), not a failed operation.
class ConfigError : public io::Error {
public:
    using io::Error::Error;
};
}  // namespace

store::Config Context::config() const
{
    // The default file may be missing (nothing configured); one named by --config may not.
    try {
        log().err->debug("configuration: {}", config_path);
        return store::load_config(config_path, config_path != store::default_config_path);
    } catch (const io::Error& e) {
        throw ConfigError(e.what());
    }
}

std::vector<std::string> Context::dump_dirs() const
{
    // The config's dumpdir; else PVE's directory storages that hold backups; else
    // PVE's default. Said on stderr, so an administrator knows what was looked at.
    const commands::Report say = to_stderr();
    auto dirs = config().effective_global().dumpdirs;
    if (!dirs.empty()) {
        log().err->debug("dump dirs from the configuration's dumpdir: {}", fmt::join(dirs, " "));
        return dirs;
    }
    const char* env = std::getenv("PVEDIFF_PVE_STORAGE_CFG");
    const std::string storage_cfg = env && *env ? env : store::pve_storage_cfg_path;
    const auto storages = store::load_backup_storages(storage_cfg, store::local_node_name());
    if (!storages.empty()) {
        std::string list;
        for (const auto& s : storages) {
            dirs.push_back(s.dump_dir.string());
            list += (list.empty() ? "" : ", ") + s.id + " (" + s.dump_dir.string() + ")";
        }
        say("no dumpdir in " + config_path + "; using the backup storages of " + storage_cfg + ": " + list);
        return dirs;
    }
    say("no dumpdir in " + config_path + " and no backup storage in " + storage_cfg + "; using " +
        store::pve_default_dump_dir);
    return {store::pve_default_dump_dir};
}

std::string Context::tmpdir(const std::string& from_command_line) const
{
    if (!from_command_line.empty()) {
        return std::filesystem::absolute(from_command_line).string();
    }
    return config().effective_global().tmpdir;
}

void add_tmpdir_option(CLI::App& sub, std::string& into)
{
    sub.add_option("--tmpdir", into,
                   "scratch files go here (default: tmpdir of the config, else beside\n"
                   "the backup; local disk spares an NFS dump dir the traffic)");
}

const Loggers& Context::log() const
{
    if (!loggers_) {
        const Verbosity v = quiet ? Verbosity::quiet : verbose ? Verbosity::verbose : Verbosity::normal;
        loggers_ = std::make_shared<Loggers>(make_loggers(v));
    }
    return *loggers_;
}

commands::Report Context::to_stdout() const
{
    return [out = log().out](const std::string& line) { out->info(line); };
}

commands::Report Context::to_stderr() const
{
    return [err = log().err](const std::string& line) { err->info(line); };
}

commands::Progress* Context::progress()
{
    if (progress_off || (quiet && !progress_forced)) {
        return nullptr;
    }
    if (!progress_) {
        // The gap between plain lines; the tests set 0 to see lines of small archives.
        const char* gap = std::getenv("PVEDIFF_PROGRESS_GAP_MS");
        const auto gap_ms = gap != nullptr ? io::parse_number<unsigned>(gap) : std::nullopt;
        progress_ = std::make_unique<ProgressDisplay>(
            ::isatty(STDERR_FILENO) == 1, stderr, to_stderr(),
            gap_ms ? std::chrono::milliseconds(*gap_ms) : ProgressDisplay::default_plain_gap);
    }
    return progress_.get();
}

io::Codec parse_codec_option(const std::string& name)
{
    const auto c = io::parse_codec(name);
    if (!c) {
        throw CLI::ValidationError("--compress", "expected zstd, lzo, gzip or none, not '" + name + "'");
    }
    return *c;
}

int run(int argc, char** argv)
{
    CLI::App app{"pvediff: differential backups for Proxmox VE's vzdump archives"};
    app.name("pvediff");
    app.set_version_flag("--version", std::string("pvediff ") + pvediff::version);
    app.require_subcommand(1);
    app.fallthrough();

    Context ctx;
    app.add_option("--config", ctx.config_path, "configuration file")->capture_default_str();
    app.add_flag("-q,--quiet", ctx.quiet, "print only errors");
    app.add_flag("-v,--verbose", ctx.verbose, "also print debug lines (which config, which dump dirs)");
    app.add_flag("--progress", ctx.progress_forced,
                 "show progress of long operations (the default unless -q): a live line on a terminal, "
                 "a line every 10 % or 30 s (at most one every 2 s) otherwise");
    app.add_flag("--no-progress", ctx.progress_off, "show no progress");

    Action chosen;
    add_backup_command(app, ctx, chosen);
    add_restore_command(app, ctx, chosen);
    add_verify_command(app, ctx, chosen);
    add_list_command(app, ctx, chosen);
    add_prune_command(app, ctx, chosen);
    add_hook_command(app, ctx, chosen);
    add_diff_command(app, ctx, chosen);
    add_patch_command(app, ctx, chosen);
    add_demo_command(app, ctx, chosen);
    add_dev_make_vma_command(app, ctx, chosen);
    add_dev_vma_digest_command(app, ctx, chosen);
    add_mount_command(app, ctx, chosen);
    add_help_command(app, chosen);
    fit_help_to_width(app);

    // `pvediff bakup`: name the word and suggest the nearest command, rather than
    // CLI11's "A subcommand is required".
    if (const auto unknown = unknown_subcommand(app, argc, argv)) {
        std::vector<std::string> names;
        for (const CLI::App* sub :
             app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
            names.push_back(sub->get_name());
        }
        const auto near = nearest_name(*unknown, names);
        std::fprintf(stderr, "pvediff: error: '%s' is not a pvediff command%s; see pvediff help\n",
                     unknown->c_str(), near ? ("; did you mean '" + *near + "'?").c_str() : "");
        return exit_usage;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_usage;
    }
    try {
        // A --config given explicitly must be there and valid, even for a command
        // that would not read it: a typo in the path must not go unnoticed.
        if (app.count("--config") > 0) {
            (void)ctx.config();
        }
        return chosen ? chosen() : exit_usage;
    } catch (const CLI::Error& e) {
        ctx.log().err->error(e.what());
        return exit_usage;
    } catch (const commands::UsageError& e) {
        ctx.log().err->error(e.what());
        return exit_usage;
    } catch (const store::LockTimeout& e) {
        ctx.log().err->error(e.what());
        return exit_locked;
    } catch (const ConfigError& e) {
        ctx.log().err->error(e.what());
        return exit_usage;
    } catch (const io::Error& e) {
        ctx.log().err->error(e.what());
    } catch (const std::bad_alloc&) {
        ctx.log().err->error("out of memory");
    } catch (const std::exception& e) {
        ctx.log().err->error(e.what());
    }
    return exit_error;
}

}  // namespace pvediff::cli
