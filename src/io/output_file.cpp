// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::io {

namespace {

// An existing output that is a character device or a FIFO, opened for writing into
// (a FIFO: once a reader has it open); invalid when `path` does not exist or is a
// regular file, which are written the atomic way. Refuses every other kind.
Fd open_stream_output(const std::filesystem::path& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return {};
        }
        throw_errno("stat", path.string(), errno);
    }
    if (S_ISREG(st.st_mode)) {
        return {};
    }
    if (!OutputFile::writes_into(st.st_mode)) {
        throw file_error(path.string(),
                         "is {}: an output is written as a new file, or into a character device "
                         "or a FIFO; refused",
                         file_type_words(st.st_mode));
    }
    // No O_CREAT, no O_TRUNC: if something else took the name meanwhile, nothing is
    // created or emptied, and the check below refuses it.
    Fd fd(::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
    if (!fd.valid()) {
        throw_errno("open", path.string(), errno);
    }
    struct stat opened {};
    if (::fstat(fd.get(), &opened) != 0) {
        throw_errno("fstat", path.string(), errno);
    }
    if (!OutputFile::writes_into(opened.st_mode)) {
        throw file_error(path.string(), "changed while it was opened (now {}); refused",
                         file_type_words(opened.st_mode));
    }
    return fd;
}

}  // namespace

OutputFile::OutputFile(const std::filesystem::path& path, Codec codec, CompressOptions compress,
                       const FileMode& mode, Stream stream)
{
    if (path == "-") {
        sink_ = make_compressor(stdout_sink(), codec, compress);
        return;
    }
    path_ = path;
    if (stream == Stream::write_into) {
        stream_ = open_stream_output(path);
    }
    if (stream_.valid()) {
        sink_ = make_write_behind(
            make_compressor(std::make_unique<FdSink>(stream_.get(), path.string()), codec, compress));
        return;
    }
    file_ = std::make_unique<AtomicFile>(path, mode);
    sink_ = make_write_behind(make_compressor(file_->sink(), codec, compress));
}

std::filesystem::path OutputFile::dir() const
{
    if (!file_) {  // standard output, a device or a FIFO: no directory of its own to use
        return std::filesystem::current_path();
    }
    const auto parent = file_->final_path().parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

void OutputFile::commit(Existing existing)
{
    if (!file_) {
        return;
    }
    if (existing == Existing::replace) {
        file_->commit();
    } else {
        file_->commit_no_replace();
    }
}

}  // namespace pvediff::io
