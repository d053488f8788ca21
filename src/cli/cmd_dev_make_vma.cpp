// SPDX-License-Identifier: GPL-2.0-or-later
#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/make_vma.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/file_stream.h"

namespace pvediff::cli {

void add_dev_make_vma_command(CLI::App& app, Context& /*ctx*/, Action& chosen)
{
    auto opts = std::make_shared<commands::MakeVmaOptions>();
    auto output = std::make_shared<std::string>();
    auto* sub =
        app.add_subcommand("dev-make-vma", "archive a raw disk image as a VMA (for tests and benchmarks)");
    sub->group("");  // hidden from --help: a developer tool
    sub->add_option("--image", opts->image, "raw disk image")->required()->check(CLI::ExistingFile);
    sub->add_option("--order-seed", opts->order_seed, "seed of the cluster order and uuid");
    sub->add_option("--ctime", opts->ctime, "archive creation time (seconds since the epoch)");
    sub->add_option("-o,--output", *output, "output VMA, or - for stdout")->required();
    sub->callback([opts, output, &chosen] {
        chosen = [opts, output] {
            if (*output == "-") {
                auto out = io::stdout_sink();
                commands::make_vma(*opts, *out);
                out->finish();
            } else {
                io::AtomicFile file(*output);
                commands::make_vma(*opts, file.sink());
                file.commit();
            }
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
