// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>

#include "command_registry.h"
#include "pvediff/cli/exit_codes.h"
#include "pvediff/commands/content_digest.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/error.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::cli {

// Prints the VMA item digest of an archive (docs/formats.md, "Content digests"): what
// a manifest's content-vma-items-sha256 records, so tests can write such a manifest
// for a differential before the backup path writes them itself.
void add_dev_vma_digest_command(CLI::App& app, Context& /*ctx*/, Action& chosen)
{
    auto file = std::make_shared<std::string>();
    auto* sub =
        app.add_subcommand("dev-vma-digest", "print the VMA item digest of a (compressed) VMA (for tests)");
    sub->group("");  // hidden from --help: a developer tool
    sub->add_option("FILE", *file, "VMA archive, raw or compressed, or - for stdin")->required();
    sub->callback([file, &chosen] {
        chosen = [file] {
            io::DecodedInput in = io::open_decompressed(*file);
            auto ahead = io::make_read_ahead(std::move(in.source));
            io::NullSink discard;
            commands::DigestingSink digesting(discard, store::ContentDigest::vma_items, ahead->name());
            io::copy_stream(*ahead, digesting);
            digesting.finish();
            const auto& d = digesting.digester();
            if (!d.digest()) {
                throw io::file_error(*file, "no VMA item digest: {}", d.why_none());
            }
            // As sha256sum prints: digest, two spaces, the name.
            std::printf("%s  %s\n", io::to_hex(*d.digest()).c_str(), file->c_str());
            return exit_ok;
        };
    });
}

}  // namespace pvediff::cli
