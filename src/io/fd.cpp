// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "pvediff/io/error.h"

namespace pvediff::io {

Fd& Fd::operator=(Fd&& other) noexcept
{
    if (this != &other) {
        reset(other.release());
    }
    return *this;
}

int Fd::release() noexcept
{
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

void Fd::reset(int fd) noexcept
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

Fd open_fd(const std::string& path, int flags, unsigned mode)
{
    int fd;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        throw_errno("open", path, errno);
    }
    return Fd(fd);
}

std::size_t read_some(int fd, std::span<std::uint8_t> buf, const std::string& path)
{
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            throw_errno("read", path, errno);
        }
    }
}

void write_all(int fd, std::span<const std::uint8_t> data, const std::string& path)
{
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("write", path, errno);
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
}

void pread_exact(int fd, std::span<std::uint8_t> buf, std::uint64_t offset, const std::string& path)
{
    std::size_t done = 0;
    while (done < buf.size()) {
        const ssize_t n =
            ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("read", path, errno);
        }
        if (n == 0) {
            throw_parse_error(path, offset + done, "unexpected end of file");
        }
        done += static_cast<std::size_t>(n);
    }
}

void pwrite_all(int fd, std::span<const std::uint8_t> data, std::uint64_t offset, const std::string& path)
{
    while (!data.empty()) {
        const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("write", path, errno);
        }
        data = data.subspan(static_cast<std::size_t>(n));
        offset += static_cast<std::uint64_t>(n);
    }
}

void fsync_fd(int fd, const std::string& path)
{
    if (::fsync(fd) != 0) {
        throw_errno("fsync", path, errno);
    }
}

void fsync_dir(const std::string& dir)
{
    const Fd fd = open_fd(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
    // Some filesystems (and NFS without a commit) refuse fsync on directories; the
    // rename itself is then as durable as that filesystem makes it.
    if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != EROFS) {
        throw_errno("fsync directory", dir, errno);
    }
}

}  // namespace pvediff::io
