// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Where a command's output goes: a file written atomically (AtomicFile: temporary
// name, moved into place on commit) or standard output ("-"), compressed on the way.
// One type for restore, diff and patch.
//
// An output that exists and is a character device or a FIFO (`-o /dev/null`, a pipe
// another program reads) is written into as it is, like standard output: a file moved
// into its place would replace the device for the whole machine (root's /dev/null
// made a regular file, which every program then reads from). Any other kind of file
// that is not a regular one (a block device, a socket, a directory) is refused.
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/fd.h"

namespace pvediff::io {

class OutputFile {
public:
    // What an existing character device or FIFO at `path` gets: written into (an
    // output the user named), or a new file that the commit then refuses to put in
    // its place (a name pvediff chose, in a directory others may write).
    enum class Stream { write_into, refuse };
    // `path` "-": standard output. What is written to sink() is compressed with
    // `codec` (on a write-behind thread for a file). `mode`: the file's final mode,
    // owner and group (FileMode::like the data it comes from).
    OutputFile(const std::filesystem::path& path, Codec codec, CompressOptions compress = {},
               const FileMode& mode = {}, Stream stream = Stream::write_into);
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    ByteSink& sink() { return *sink_; }
    // Ends the compressed stream; call before commit().
    void finish() { sink_->finish(); }
    [[nodiscard]] bool to_stdout() const { return file_ == nullptr && !stream_.valid(); }
    // Written into an existing character device or FIFO, not replaced.
    [[nodiscard]] bool to_stream() const { return stream_.valid(); }
    // Whether an existing file of this mode (stat's st_mode) is written into as it is
    // (a character device, a FIFO) rather than replaced.
    static bool writes_into(mode_t mode) { return S_ISCHR(mode) || S_ISFIFO(mode); }
    // The final path; empty for standard output.
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    // Where scratch files beside the output go: the file's directory, or the current one.
    [[nodiscard]] std::filesystem::path dir() const;

    enum class Existing { refuse, replace };
    // Moves the file into place (nothing for standard output): Existing::refuse fails
    // if something appeared under its name meanwhile.
    void commit(Existing existing = Existing::refuse);

private:
    std::filesystem::path path_;
    Fd stream_;  // an existing character device or FIFO
    std::unique_ptr<AtomicFile> file_;
    std::unique_ptr<ByteSink> sink_;
};

}  // namespace pvediff::io
