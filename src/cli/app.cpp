// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>
#include <exception>
#include <string>

#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/io/error.h"
#include "pvediff/version.h"

namespace pvediff::cli {

int run(int argc, char** argv)
{
    CLI::App app{"pvediff: differential backups for Proxmox VE's vzdump archives"};
    app.name("pvediff");
    app.set_version_flag("--version", std::string("pvediff ") + pvediff::version);
    app.require_subcommand(1);
    app.fallthrough();

    Action chosen;
    add_diff_command(app, chosen);
    add_patch_command(app, chosen);
    add_demo_command(app, chosen);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_usage;
    }
    try {
        return chosen ? chosen() : exit_usage;
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
