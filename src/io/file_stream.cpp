// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/file_stream.h"

#include <fcntl.h>
#include <unistd.h>

namespace pvediff::io {

namespace {
Fd open_input_fd(const std::string& path)
{
    if (path == "-") {
        return Fd(::dup(STDIN_FILENO));
    }
    return open_fd(path, O_RDONLY);
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

FileSource::FileSource(Fd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

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
