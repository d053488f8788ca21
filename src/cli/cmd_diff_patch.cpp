// SPDX-License-Identifier: GPL-2.0-or-later
// `pvediff diff` and `pvediff patch`: options and the summary line; the work is
// commands/diff_patch.h.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/diff_patch.h"
#include "pvediff/commands/pipeline.h"

namespace pvediff::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void add_diff_command(CLI::App& app, Context& ctx, Action& chosen)
{
    struct Args {
        std::string base, target, output, compress, engine = "default", tmpdir;
        int threads = 1;
        bool force = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("diff", "make a VCDIFF delta of NEW against FULL (any codec each)");
    sub->add_option("--base", a->base, "the full")->required();
    sub->add_option("--new", a->target, "the new archive")->required();
    sub->add_option("-o,--output", a->output, "the delta, or - for stdout")->required();
    sub->add_option("--compress", a->compress, "zstd, lzo, gzip or none (default: the codec of NEW)");
    sub->add_option("--engine", a->engine, "delta engine: chunked (the default) or xdelta3");
    sub->add_option("--threads", a->threads, "zstd compression threads");
    sub->add_flag("-f,--force", a->force, "replace an existing output (never one of the inputs)");
    add_tmpdir_option(*sub, a->tmpdir);
    sub->callback([a, &ctx, &chosen] {
        chosen = [a, &ctx] {
            const auto start = std::chrono::steady_clock::now();
            commands::DiffRequest request;
            request.base = a->base;
            request.target = a->target;
            request.output = a->output;
            if (!a->compress.empty()) {
                request.codec = parse_codec_option(a->compress);
            }
            request.engine = a->engine;
            request.threads = a->threads;
            request.force = a->force;
            request.tmpdir = ctx.tmpdir(a->tmpdir);
            request.progress = ctx.progress();
            const auto r = commands::diff_files(request);
            if (!r.stored_index_refused.empty()) {
                ctx.to_stderr()(r.stored_index_refused);
            }
            ctx.to_stderr()(fmt::format(
                "{}: {} new, {} copied from the full, {} literal, {} windows, {}{}", a->output,
                commands::human_bytes(r.encode.target_bytes), commands::human_bytes(r.encode.copied_bytes),
                commands::human_bytes(r.encode.literal_bytes), r.encode.windows,
                commands::human_seconds(seconds_since(start)), r.used_stored_index ? " (stored index)" : ""));
            return exit_ok;
        };
    });
}

void add_patch_command(CLI::App& app, Context& ctx, Action& chosen)
{
    struct Args {
        std::string base, delta, output, compress, tmpdir;
        bool force = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("patch", "apply a VCDIFF delta (pvediff's or stock xdelta3's) to FULL");
    sub->add_option("--base", a->base, "the full")->required();
    sub->add_option("--delta", a->delta, "the delta (any codec), or - for stdin")->required();
    sub->add_option("-o,--output", a->output, "the rebuilt archive, or - for stdout")->required();
    sub->add_option("--compress", a->compress, "zstd, lzo, gzip or none (default: none)");
    sub->add_flag("-f,--force", a->force, "replace an existing output (never one of the inputs)");
    add_tmpdir_option(*sub, a->tmpdir);
    sub->callback([a, &ctx, &chosen] {
        chosen = [a, &ctx] {
            const auto start = std::chrono::steady_clock::now();
            commands::PatchRequest request;
            request.base = a->base;
            request.delta = a->delta;
            request.output = a->output;
            request.codec = a->compress.empty() ? io::Codec::none : parse_codec_option(a->compress);
            request.force = a->force;
            request.tmpdir = ctx.tmpdir(a->tmpdir);
            request.progress = ctx.progress();
            const auto r = commands::patch_files(request);
            ctx.to_stderr()(
                fmt::format("{}: {} rebuilt from {} windows, {} of the full kept aside ({} spilled){}, {}",
                            a->output, commands::human_bytes(r.target.size), r.decode.windows,
                            commands::human_bytes(r.decode.kept_aside_peak),
                            commands::human_bytes(r.decode.spilled_bytes), commands::frames_note(r.decode),
                            commands::human_seconds(seconds_since(start))));
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
