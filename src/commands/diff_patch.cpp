// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/diff_patch.h"

#include <sys/stat.h>

#include <cerrno>
#include <initializer_list>

#include "pvediff/io/error.h"
#include "pvediff/io/output_file.h"

namespace pvediff::commands {

namespace {

// Refuses an output that exists (unless `force`) or that is one of `inputs` (always).
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
            throw io::Error("'" + output + "' is the input '" + *input +
                            "' (the same file): the output would destroy it; refused even with --force");
        }
    }
    if (!force) {
        throw io::Error("'" + output + "' exists already (--force replaces it)");
    }
}

io::OutputFile::Existing existing(bool force)
{
    return force ? io::OutputFile::Existing::replace : io::OutputFile::Existing::refuse;
}

}  // namespace

DiffOutcome diff_files(const DiffRequest& request)
{
    check_output(request.output, {&request.base, &request.target}, request.force);
    io::DecodedInput target = io::open_decompressed(request.target);
    EncodeSettings settings;
    settings.engine = request.engine;
    settings.writing = differential_writing(request.codec.value_or(target.codec), request.threads);
    // encode_differential compresses itself (and finishes the stream): the output
    // file only stores the bytes.
    io::OutputFile out(request.output, io::Codec::none);
    const DiffOutcome r = encode_differential(request.base, std::move(target), out.sink(), settings);
    out.commit(existing(request.force));
    return r;
}

RebuildOutcome patch_files(const PatchRequest& request)
{
    check_output(request.output, {&request.base, &request.delta}, request.force);
    io::OutputFile out(request.output, request.codec);
    const RebuildOutcome r =
        rebuild_archive(request.base, request.delta, out.sink(), out.dir(), ContentHashes::none);
    out.finish();
    out.commit(existing(request.force));
    return r;
}

}  // namespace pvediff::commands
