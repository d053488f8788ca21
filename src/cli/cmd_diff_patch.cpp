// SPDX-License-Identifier: GPL-2.0-or-later
// `pvediff diff` and `pvediff patch`: the delta engine alone on explicit files, for
// scripts and benchmarks. Same streaming pipeline as backup and restore.
#include <chrono>
#include <cstdio>

#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/pipeline.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::cli {

namespace {

// Output file written atomically, or standard output for "-".
class Output {
public:
    explicit Output(const std::string& path)
    {
        if (path == "-") {
            stdout_ = io::stdout_sink();
        } else {
            file_ = std::make_unique<io::AtomicFile>(path);
        }
    }
    io::ByteSink& sink() { return file_ ? file_->sink() : *stdout_; }
    void commit()
    {
        if (file_) {
            file_->commit();
        }
    }
    [[nodiscard]] std::filesystem::path dir() const
    {
        return file_ ? file_->final_path().parent_path() : std::filesystem::current_path();
    }

private:
    std::unique_ptr<io::AtomicFile> file_;
    std::unique_ptr<io::ByteSink> stdout_;
};

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void add_diff_command(CLI::App& app, Context& ctx, Action& chosen)
{
    struct Args {
        std::string base, target, output, compress, engine = "default";
        int threads = 1;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("diff", "make a VCDIFF delta of NEW against FULL (any codec each)");
    sub->add_option("--base", a->base, "the full")->required();
    sub->add_option("--new", a->target, "the new archive")->required();
    sub->add_option("-o,--output", a->output, "the delta, or - for stdout")->required();
    sub->add_option("--compress", a->compress, "zstd, lzo, gzip or none (default: the codec of NEW)");
    sub->add_option("--engine", a->engine, "delta engine: chunked (the default) or xdelta3");
    sub->add_option("--threads", a->threads, "zstd compression threads");
    sub->callback([a, &ctx, &chosen] {
        chosen = [a, &ctx] {
            const auto start = std::chrono::steady_clock::now();
            io::DecodedInput target = io::open_decompressed(a->target);
            commands::EncodeSettings settings;
            settings.engine = a->engine;
            settings.codec = a->compress.empty() ? target.codec : parse_codec_option(a->compress);
            settings.compress.threads = a->threads;
            Output out(a->output);
            const auto r = commands::encode_differential(a->base, std::move(target), out.sink(), settings);
            out.commit();
            ctx.to_stderr()(a->output + ": " + commands::human_bytes(r.encode.target_bytes) + " new, " +
                            commands::human_bytes(r.encode.copied_bytes) + " copied from the full, " +
                            commands::human_bytes(r.encode.literal_bytes) + " literal, " +
                            std::to_string(r.encode.windows) + " windows, " +
                            commands::human_seconds(seconds_since(start)) +
                            (r.used_stored_index ? " (stored index)" : ""));
            return exit_ok;
        };
    });
}

void add_patch_command(CLI::App& app, Context& ctx, Action& chosen)
{
    struct Args {
        std::string base, delta, output, compress;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("patch", "apply a VCDIFF delta (pvediff's or stock xdelta3's) to FULL");
    sub->add_option("--base", a->base, "the full")->required();
    sub->add_option("--delta", a->delta, "the delta (any codec), or - for stdin")->required();
    sub->add_option("-o,--output", a->output, "the rebuilt archive, or - for stdout")->required();
    sub->add_option("--compress", a->compress, "zstd, lzo, gzip or none (default: none)");
    sub->callback([a, &ctx, &chosen] {
        chosen = [a, &ctx] {
            const auto start = std::chrono::steady_clock::now();
            const io::Codec codec = a->compress.empty() ? io::Codec::none : parse_codec_option(a->compress);
            Output out(a->output);
            auto sink = io::make_write_behind(io::make_compressor(out.sink(), codec));
            const auto r =
                commands::rebuild_archive(a->base, a->delta, *sink, out.dir(), commands::ContentHashes::none);
            sink->finish();
            out.commit();
            ctx.to_stderr()(a->output + ": " + commands::human_bytes(r.target.size) + " rebuilt from " +
                            std::to_string(r.decode.windows) + " windows, " +
                            commands::human_bytes(r.decode.kept_aside_peak) + " of the full kept aside (" +
                            commands::human_bytes(r.decode.spilled_bytes) + " spilled), " +
                            commands::human_seconds(seconds_since(start)));
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
