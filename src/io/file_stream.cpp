// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/file_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"

namespace pvediff::io {

namespace {
// Bytes written between two flush_behind() calls.
constexpr std::uint64_t flush_step = std::uint64_t{32} << 20;

Fd open_input_fd(const std::string& path)
{
    if (path == "-") {
        return Fd(::dup(STDIN_FILENO));
    }
    // Every input named by path is opened the dump-dir way: a FIFO would block for
    // ever, a device or a link is nothing pvediff should read as an archive.
    return open_regular_file(path);
}
}  // namespace

FileSource::FileSource(const std::string& path)
    : fd_(open_input_fd(path)), name_(path == "-" ? "<stdin>" : path)
{
    if (fd_.valid() && path != "-") {
        // Archives are read once, front to back.
        ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    }
}

FileSource::FileSource(Fd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name))
{
}

std::size_t FileSource::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = read_some(fd_.get(), buf, name_);
    offset_ += n;
    return n;
}

void FdSink::write(std::span<const std::uint8_t> data)
{
    write_all(fd_, data, name_);
    bytes_ += data.size();
    if (flush_behind_ && bytes_ - flushed_ >= flush_step) {
        flush_behind();
    }
}

void FdSink::flush_behind()
{
    // Start writing out what was just written, then wait for the batch before it: at
    // most two batches of this file are dirty at a time. The fsync at the end is still
    // what makes the file durable.
    if (::sync_file_range(fd_, static_cast<off_t>(flushed_), static_cast<off_t>(bytes_ - flushed_),
                          SYNC_FILE_RANGE_WRITE) != 0) {
        const int err = errno;
        if (err == ESPIPE || err == EINVAL || err == ENOSYS) {
            flush_behind_ = false;  // a pipe, or a file system that cannot: plain writes
            return;
        }
        throw_errno("write out", name_, err);
    }
    if (flushed_ > waited_) {
        // A write-back error found while waiting is reported here and only here: the
        // kernel counts it as seen by this descriptor, so the final fsync would not
        // report it again. Ignoring it could commit a file with lost pages.
        constexpr unsigned wait =
            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
        const auto from = static_cast<off_t>(waited_);
        if (::sync_file_range(fd_, from, static_cast<off_t>(flushed_ - waited_), wait) != 0) {
            throw_errno("write out", name_, errno);
        }
        waited_ = flushed_;
    }
    flushed_ = bytes_;
}

std::unique_ptr<ByteSource> open_file_source(const std::string& path)
{
    return std::make_unique<FileSource>(path);
}

std::unique_ptr<ByteSink> stdout_sink()
{
    return std::make_unique<FdSink>(STDOUT_FILENO, "<stdout>");
}

}  // namespace pvediff::io
