// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>
#include <exception>
#include <string>

#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/io/error.h"
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
        return store::load_config(config_path, config_path != store::default_config_path);
    } catch (const io::Error& e) {
        throw ConfigError(e.what());
    }
}

commands::Report Context::to_stdout() const
{
    if (quiet) {
        return [](const std::string&) {};
    }
    return [](const std::string& line) {
        std::fprintf(stdout, "pvediff: %s\n", line.c_str());
        std::fflush(stdout);
    };
}

commands::Report Context::to_stderr() const
{
    if (quiet) {
        return [](const std::string&) {};
    }
    return [](const std::string& line) { std::fprintf(stderr, "pvediff: %s\n", line.c_str()); };
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
    add_mount_command(app, ctx, chosen);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_usage;
    }
    try {
        return chosen ? chosen() : exit_usage;
    } catch (const CLI::Error& e) {
        std::fprintf(stderr, "pvediff: error: %s\n", e.what());
        return exit_usage;
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "pvediff: error: %s\n", e.what());
        return exit_usage;
    } catch (const io::Error& e) {
        std::fprintf(stderr, "pvediff: error: %s\n", e.what());
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "pvediff: error: out of memory\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pvediff: error: %s\n", e.what());
    }
    return exit_error;
}

}  // namespace pvediff::cli
