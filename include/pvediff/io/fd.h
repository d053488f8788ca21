// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A move-only owner of a POSIX file descriptor, and the few system calls pvediff
// makes on one, each retrying EINTR and throwing io::Error that names the path.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace pvediff::io {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    ~Fd() { reset(); }

    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    int release() noexcept;
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

// open(2) that throws "cannot open '<path>': ..." on failure. O_CLOEXEC is added.
Fd open_fd(const std::string& path, int flags, unsigned mode = 0644);
// Reads up to buf.size() bytes (retrying EINTR); returns 0 at end of file.
std::size_t read_some(int fd, std::span<std::uint8_t> buf, const std::string& path);
// Writes everything (retrying EINTR and short writes).
void write_all(int fd, std::span<const std::uint8_t> data, const std::string& path);
// Reads exactly buf.size() bytes at offset or throws (short file = parse error).
void pread_exact(int fd, std::span<std::uint8_t> buf, std::uint64_t offset, const std::string& path);
// Writes everything at offset (retrying EINTR and short writes).
void pwrite_all(int fd, std::span<const std::uint8_t> data, std::uint64_t offset, const std::string& path);
void fsync_fd(int fd, const std::string& path);
// fsync of the directory holding a just-renamed or just-removed entry, so the
// change of name survives a crash.
void fsync_dir(const std::string& dir);

}  // namespace pvediff::io
