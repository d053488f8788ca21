// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/dir_handle.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "pvediff/io/error.h"

namespace pvediff::io {

namespace {

// Names handed to a DirHandle are single entries of the directory.
void check_entry_name(std::string_view name, const std::filesystem::path& dir)
{
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
        throw file_error(dir.string(), "'{}' is not a file name in the directory", name);
    }
}

int openat_retrying(int dirfd, const std::string& name, int flags, unsigned mode)
{
    int fd;
    do {
        fd = ::openat(dirfd, name.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

}  // namespace

std::string file_type_words(mode_t mode)
{
    switch (mode & S_IFMT) {
        case S_IFREG:
            return "a regular file";
        case S_IFLNK:
            return "a symbolic link";
        case S_IFIFO:
            return "a FIFO (named pipe)";
        case S_IFSOCK:
            return "a socket";
        case S_IFCHR:
            return "a character device";
        case S_IFBLK:
            return "a block device";
        case S_IFDIR:
            return "a directory";
        default:
            return "not a regular file";
    }
}

void throw_not_regular(const std::string& path, mode_t mode)
{
    throw Error(
        fmt::format("'{}' is {}, not a regular file: pvediff opens only regular files in a dump dir and "
                    "never follows symbolic links there; remove or rename it (it is not pvediff's)",
                    path, file_type_words(mode)));
}

DirHandle::DirHandle(const std::filesystem::path& dir) : path_(dir)
{
    const std::string p = dir.empty() ? "." : dir.string();
    int fd;
    do {
        fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        throw_errno("open directory", p, errno);
    }
    fd_.reset(fd);
}

DirHandle DirHandle::of(const std::filesystem::path& file)
{
    return DirHandle(file.parent_path());
}

std::string DirHandle::name_in(std::string_view name) const
{
    return (path_ / std::string(name)).string();
}

std::optional<struct stat> DirHandle::stat_entry(std::string_view name) const
{
    check_entry_name(name, path_);
    struct stat st {};
    if (::fstatat(fd_.get(), std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        throw_errno("inspect", name_in(name), errno);
    }
    return st;
}

std::optional<Fd> DirHandle::open_regular_if_exists(std::string_view name, int flags) const
{
    if ((flags & (O_CREAT | O_TRUNC)) != 0) {
        throw Error(
            fmt::format("internal error: open_regular of '{}' with O_CREAT or O_TRUNC", name_in(name)));
    }
    // A FIFO or device is refused before it is opened (opening some devices acts).
    const auto before = stat_entry(name);
    if (!before) {
        return std::nullopt;
    }
    if (!S_ISREG(before->st_mode)) {
        throw_not_regular(name_in(name), before->st_mode);
    }
    const int fd = openat_retrying(fd_.get(), std::string(name), flags | O_NONBLOCK, 0);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) {
            return std::nullopt;
        }
        if (err == ELOOP) {
            throw_not_regular(name_in(name), S_IFLNK);  // swapped for a link since the lstat
        }
        throw_errno("open", name_in(name), err);
    }
    Fd out(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throw_errno("inspect", name_in(name), errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw_not_regular(name_in(name), st.st_mode);
    }
    // Regular files ignore O_NONBLOCK today; cleared so that no reader ever sees EAGAIN.
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        throw_errno("open", name_in(name), errno);
    }
    return out;
}

Fd DirHandle::open_regular(std::string_view name, int flags) const
{
    auto fd = open_regular_if_exists(name, flags);
    if (!fd) {
        throw_errno("open", name_in(name), ENOENT);
    }
    return std::move(*fd);
}

std::optional<Fd> DirHandle::try_create_exclusive(std::string_view name, unsigned mode) const
{
    check_entry_name(name, path_);
    const int fd = openat_retrying(fd_.get(), std::string(name), O_RDWR | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        if (errno == EEXIST) {
            return std::nullopt;
        }
        throw_errno("create", name_in(name), errno);
    }
    return Fd(fd);
}

Fd DirHandle::create_exclusive(std::string_view name, unsigned mode) const
{
    auto fd = try_create_exclusive(name, mode);
    if (!fd) {
        throw_errno("create", name_in(name), EEXIST);
    }
    return std::move(*fd);
}

void DirHandle::rename(std::string_view from, std::string_view to) const
{
    check_entry_name(from, path_);
    check_entry_name(to, path_);
    if (::renameat(fd_.get(), std::string(from).c_str(), fd_.get(), std::string(to).c_str()) != 0) {
        throw_errno("rename into place", name_in(to), errno);
    }
}

void DirHandle::link(std::string_view from, std::string_view to) const
{
    check_entry_name(from, path_);
    check_entry_name(to, path_);
    // linkat without AT_SYMLINK_FOLLOW links the name itself, never a link's target.
    if (::linkat(fd_.get(), std::string(from).c_str(), fd_.get(), std::string(to).c_str(), 0) != 0) {
        throw_errno("create", name_in(to), errno);
    }
}

bool DirHandle::unlink(std::string_view name) const
{
    check_entry_name(name, path_);
    if (::unlinkat(fd_.get(), std::string(name).c_str(), 0) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        throw_errno("remove", name_in(name), errno);
    }
    return true;
}

void DirHandle::sync() const
{
    // Some filesystems (and NFS without a commit) refuse fsync on directories; the
    // rename itself is then as durable as that filesystem makes it.
    if (::fsync(fd_.get()) != 0 && errno != EINVAL && errno != EROFS) {
        throw_errno("fsync directory", path_.empty() ? "." : path_.string(), errno);
    }
}

Fd open_regular_file(const std::filesystem::path& path, int flags)
{
    if (!path.has_filename()) {
        throw file_error(path.string(), "not a file name");
    }
    return DirHandle::of(path).open_regular(path.filename().string(), flags);
}

bool remove_entry(const std::filesystem::path& path)
{
    if (!path.has_filename()) {
        throw file_error(path.string(), "not a file name");
    }
    return DirHandle::of(path).unlink(path.filename().string());
}

}  // namespace pvediff::io
