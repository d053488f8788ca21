// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Each cmd_<name>.cpp adds one subcommand: it declares its options on `app` and, when
// the subcommand is chosen, stores the action to run in `chosen`. Parsing and running
// stay apart, so a usage error never starts work.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "logging.h"
#include "pvediff/commands/progress.h"
#include "pvediff/commands/report.h"
#include "pvediff/store/config.h"

namespace pvediff::cli {

using Action = std::function<int()>;

// What every subcommand may need: the configuration (read only when used, so
// `--help` works without one) and where report lines go.
struct Context {
    std::string config_path = store::default_config_path;
    bool quiet = false;
    bool verbose = false;
    [[nodiscard]] store::Config config() const;
    // The dump dirs of commands run without one: the config's dumpdir, else PVE's
    // directory storages with content backup (/etc/pve/storage.cfg, or the file
    // $PVEDIFF_PVE_STORAGE_CFG names), else /var/lib/vz/dump. Says which on stderr.
    [[nodiscard]] std::vector<std::string> dump_dirs() const;
    // Where scratch files go: `from_command_line` (--tmpdir, made absolute) when given,
    // else the config's tmpdir; empty: beside the backup (commands/scratch_dir.h).
    [[nodiscard]] std::string tmpdir(const std::string& from_command_line) const;
    // Lines prefixed "pvediff: " on stdout (the hook's lines land in vzdump's task log).
    [[nodiscard]] commands::Report to_stdout() const;
    // The same on stderr, for commands whose stdout carries data.
    [[nodiscard]] commands::Report to_stderr() const;
    // --progress / --no-progress (neither: shown unless --quiet).
    bool progress_forced = false;
    bool progress_off = false;
    // Where long operations show progress (stderr: a live line on a terminal, plain
    // lines every 10 % or 30 s, at most one every 2 s, otherwise); null when it is off.
    [[nodiscard]] commands::Progress* progress();

    // The loggers (logging.h), made on first use, after the options are parsed.
    [[nodiscard]] const Loggers& log() const;

private:
    std::unique_ptr<commands::Progress> progress_;
    mutable std::shared_ptr<Loggers> loggers_;
};

void add_diff_command(CLI::App& app, Context& ctx, Action& chosen);
void add_patch_command(CLI::App& app, Context& ctx, Action& chosen);
void add_backup_command(CLI::App& app, Context& ctx, Action& chosen);
void add_restore_command(CLI::App& app, Context& ctx, Action& chosen);
void add_verify_command(CLI::App& app, Context& ctx, Action& chosen);
void add_list_command(CLI::App& app, Context& ctx, Action& chosen);
void add_prune_command(CLI::App& app, Context& ctx, Action& chosen);
void add_hook_command(CLI::App& app, Context& ctx, Action& chosen);
void add_demo_command(CLI::App& app, Context& ctx, Action& chosen);
void add_dev_make_vma_command(CLI::App& app, Context& ctx, Action& chosen);
void add_dev_vma_digest_command(CLI::App& app, Context& ctx, Action& chosen);
void add_mount_command(CLI::App& app, Context& ctx, Action& chosen);

// --tmpdir DIR on a command that writes scratch files.
void add_tmpdir_option(CLI::App& sub, std::string& into);

// A codec name from the command line ("zstd", "lzo", "gzip", "none"); throws CLI::ValidationError.
io::Codec parse_codec_option(const std::string& name);

}  // namespace pvediff::cli
