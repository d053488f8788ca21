// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The one way into a dump dir. A dump dir is often a share other hosts write to, so
// any name in it may be a symbolic link to a root-only file, a FIFO that blocks
// whoever opens it, a device or a directory. pvediff runs as root: it must never
// follow such a name, block on it, or truncate a file it did not create.
//
// DirHandle holds a descriptor of the directory and does everything relative to it
// (openat, renameat, linkat, unlinkat), so the directory cannot be swapped under a
// path between a check and a use. Opening an existing file: the name is lstat'ed first
// (a FIFO or device is never opened at all), then opened with O_NOFOLLOW and
// O_NONBLOCK (a FIFO swapped in meanwhile cannot block us; O_NONBLOCK is cleared
// afterwards), and fstat must say a regular file. Creating: O_CREAT|O_EXCL|O_NOFOLLOW,
// mode 0600, so an existing name (a link included) is never opened for writing.
// Anything else is refused with an io::Error that names the file, says what it is and
// what to do.
//
// The directory itself is named by the administrator (or vzdump) and may be reached
// through symbolic links; only names inside it are distrusted.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "pvediff/io/fd.h"

namespace pvediff::io {

class DirHandle {
public:
    // Opens `dir` ("" means the current directory). Throws io::Error when it is not a directory.
    explicit DirHandle(const std::filesystem::path& dir);
    // The directory holding `file` (its parent path).
    static DirHandle of(const std::filesystem::path& file);

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    // "<dir>/<name>", for messages.
    [[nodiscard]] std::string name_in(std::string_view name) const;

    // An existing regular file, opened with `flags` (O_RDONLY or O_RDWR; never
    // O_CREAT or O_TRUNC). Throws when it is missing or anything but a regular file.
    [[nodiscard]] Fd open_regular(std::string_view name, int flags = O_RDONLY) const;
    // Like open_regular, but nullopt when nothing has that name.
    [[nodiscard]] std::optional<Fd> open_regular_if_exists(std::string_view name, int flags = O_RDONLY) const;
    // A new file, O_RDWR, mode 0600 (before the umask). Throws with EEXIST's message
    // when the name is taken, whatever it is.
    [[nodiscard]] Fd create_exclusive(std::string_view name, unsigned mode = 0600) const;
    // Like create_exclusive, but nullopt when the name is taken.
    [[nodiscard]] std::optional<Fd> try_create_exclusive(std::string_view name, unsigned mode = 0600) const;
    // lstat of the name (never follows); nullopt when it does not exist.
    [[nodiscard]] std::optional<struct stat> stat_entry(std::string_view name) const;

    // rename(2) within the directory, replacing `to` (a link is replaced, not followed).
    void rename(std::string_view from, std::string_view to) const;
    // link(2) within the directory: fails (EEXIST) instead of replacing `to`.
    void link(std::string_view from, std::string_view to) const;
    // Removes the name (a file or a link, never what a link points to); false when
    // it did not exist. Refuses a directory.
    bool unlink(std::string_view name) const;
    // fsync of the directory, so renames and removals survive a crash.
    void sync() const;

private:
    DirHandle(Fd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}

    Fd fd_;
    std::filesystem::path path_;
};

// What a file is, in words for messages: "a symbolic link", "a FIFO (named pipe)", ...
std::string file_type_words(mode_t mode);

// "'<path>' is a FIFO (named pipe), not a regular file: pvediff opens only regular files
// and never follows symbolic links in a dump dir; remove or rename it"
[[noreturn]] void throw_not_regular(const std::string& path, mode_t mode);

// An existing regular file by path, the final name opened the DirHandle way (never
// followed, never blocking). Every input file pvediff opens by name goes through this.
Fd open_regular_file(const std::filesystem::path& path, int flags = O_RDONLY);

// Removes one name the DirHandle way (a link itself, never its target; never a
// directory); false when it did not exist.
bool remove_entry(const std::filesystem::path& path);

}  // namespace pvediff::io
