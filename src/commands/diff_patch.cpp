// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/diff_patch.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <initializer_list>
#include <optional>

#include "pvediff/commands/progress_scope.h"
#include "pvediff/commands/scratch_dir.h"
#include "pvediff/io/counting_stream.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/output_file.h"

namespace pvediff::commands {

namespace {

// Refuses an output that exists (unless `force`, or it is a character device or a
// FIFO) or that is one of `inputs` (always).
// Checked before anything is written; the commit refuses what appears meanwhile
// (without --force).
void check_output(const std::string& output, std::initializer_list<const std::string*> inputs, bool force)
{
    if (output == "-") {
        return;
    }
    struct stat out {};
    if (::stat(output.c_str(), &out) != 0) {
        if (errno == ENOENT) {
            return;
        }
        io::throw_errno("stat", output, errno);
    }
    for (const std::string* input : inputs) {
        struct stat in {};
        if (*input != "-" && ::stat(input->c_str(), &in) == 0 && in.st_dev == out.st_dev &&
            in.st_ino == out.st_ino) {
            throw io::file_error(output,
                                 "is the input '{}' (the same file): the output would destroy it; refused "
                                 "even with --force",
                                 *input);
        }
    }
    // A character device or a FIFO is written into, never replaced (io::OutputFile):
    // nothing in it is lost, so no --force is needed.
    if (!force && !io::OutputFile::writes_into(out.st_mode)) {
        throw io::file_error(output, "exists already (--force replaces it)");
    }
}

io::OutputFile::Existing existing(bool force)
{
    return force ? io::OutputFile::Existing::replace : io::OutputFile::Existing::refuse;
}

// The size of a regular file, the total its bytes are shown against; none for
// standard input or a pipe.
std::optional<std::uint64_t> regular_file_size(const std::string& path)
{
    struct stat st {};
    if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(st.st_size);
}

std::string shown_name(const std::string& path)
{
    return path == "-" ? "standard input" : std::filesystem::path(path).filename().string();
}

}  // namespace

DiffOutcome diff_files(const DiffRequest& request)
{
    check_output(request.output, {&request.base, &request.target}, request.force);
    const std::string what = "diff " + shown_name(request.target);
    ProgressScope shown(request.progress, what, regular_file_size(request.target));
    io::DecodedInput target = io::open_decompressed(
        std::make_unique<io::CountingSource>(io::open_file_source(request.target), shown.updater()));
    EncodeSettings settings;
    settings.engine = request.engine;
    settings.scratch_dir = scratch_dir(request.tmpdir, {});  // empty: beside the full
    settings.on_full_read = phase_updater(request.progress, what + ", reading the full");
    settings.on_writing = phase_updater(request.progress, what + ", writing the delta");
    settings.writing = differential_writing(request.codec.value_or(target.codec), request.threads);
    // encode_differential compresses itself (and finishes the stream): the output
    // file only stores the bytes.
    io::OutputFile out(request.output, io::Codec::none);
    DiffOutcome r = encode_differential(request.base, std::move(target), out.sink(), settings);
    shown.finish();
    out.commit(existing(request.force));
    return r;
}

RebuildOutcome patch_files(const PatchRequest& request)
{
    check_output(request.output, {&request.base, &request.delta}, request.force);
    const std::filesystem::path spill_dir = scratch_dir(request.tmpdir, {});
    io::OutputFile out(request.output, request.codec);
    ProgressScope shown(request.progress, "patch " + shown_name(request.delta), std::nullopt);
    io::CountingSink counted(out.sink(), shown.updater());
    RebuildOutcome r = rebuild_archive(request.base, request.delta, counted,
                                       spill_dir.empty() ? out.dir() : spill_dir, ContentHashes::none);
    out.finish();
    shown.finish();
    out.commit(existing(request.force));
    return r;
}

}  // namespace pvediff::commands
