// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/guest_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <thread>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/store/entry_name.h"

namespace pvediff::store {
namespace {

// true: locked; false: held by someone else. Throws on any other failure.
// `type`: F_WRLCK (changes) or F_RDLCK (a dry run: excludes only changes).
bool try_fcntl_lock(int fd, const std::string& path, short type = F_WRLCK)
{
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // the whole file
    for (;;) {
        int rc = ::fcntl(fd, F_OFD_SETLK, &fl);
        if (rc != 0 && errno == EINVAL) {
            // A kernel or file system without OFD locks: process-associated locks.
            fl.l_pid = 0;
            rc = ::fcntl(fd, F_SETLK, &fl);
        }
        if (rc == 0) {
            return true;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EACCES || errno == EAGAIN) {
            return false;
        }
        io::throw_errno("lock", path, errno);
    }
}

std::string host_name()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) {
        return "unknown host";
    }
    return buf;
}

std::string read_holder(int fd)
{
    char buf[300] = {};
    const auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        return {};
    }
    std::string text(buf, static_cast<std::size_t>(n));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    if (text.find('\n') != std::string::npos || !text.starts_with("pid ")) {
        return {};
    }
    return text;
}

// What a lock file may hold: nothing, or (the start of) the line a holder writes. A
// holder truncates and rewrites it, so a reader may see it empty or half written.
bool holds_lock_text(int fd)
{
    char buf[301] = {};
    const auto n = ::pread(fd, buf, sizeof buf, 0);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) {
        return false;
    }
    const std::string_view text(buf, static_cast<std::size_t>(n));
    return text.empty() || text.starts_with("pid ") || std::string_view("pid ").starts_with(text);
}

[[noreturn]] void throw_not_lock_file(const std::string& path, const std::string& why)
{
    throw io::Error(
        fmt::format("'{}' is not a pvediff lock file ({}); pvediff leaves it alone: move it away so that "
                    "pvediff can create its lock file there",
                    path, why));
}

// Informational only: who holds it, for the message of those who wait. The file is
// truncated only when it holds nothing or what a pvediff wrote there (checked when
// it was opened, and again here under the lock).
void record_holder(int fd, const std::string& path)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !holds_lock_text(fd)) {
        throw_not_lock_file(path, "it holds something else");
    }
    const std::string text = "pid " + std::to_string(::getpid()) + " on " + host_name() + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const auto n = ::pwrite(fd, text.data(), text.size(), 0);
    }
}

// The lock file is created exclusively, or an existing one is opened without
// following a link (io::DirHandle). An existing file must look like a lock file: one
// name (a hard link to another file would make us write into that file) and empty or
// holding a "pid ..." line; anything else is refused, never truncated.
io::Fd open_lock_file(const std::filesystem::path& path, int flags)
{
    const io::DirHandle dir = io::DirHandle::of(path);
    const std::string name = path.filename().string();
    io::Fd fd = dir.open_regular(name, flags);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        io::throw_errno("inspect", path.string(), errno);
    }
    if (st.st_nlink != 1) {
        throw_not_lock_file(path.string(), fmt::format("it has {} names", st.st_nlink));
    }
    if (!holds_lock_text(fd.get())) {
        throw_not_lock_file(path.string(), "it holds something else");
    }
    return fd;
}

io::Fd create_or_open_lock_file(const std::filesystem::path& path)
{
    const io::DirHandle dir = io::DirHandle::of(path);
    if (auto created = dir.try_create_exclusive(path.filename().string(), 0600)) {
        return std::move(*created);
    }
    return open_lock_file(path, O_RDWR);
}

}  // namespace

std::filesystem::path lock_path(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid)
{
    return dump_dir / lock_file_name(type, vmid);
}

namespace {

void wait_for_lock(int fd, const std::filesystem::path& path, short type,
                   const std::filesystem::path& dump_dir, std::uint32_t vmid, std::chrono::seconds timeout,
                   const std::function<void()>& on_wait)
{
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    bool told = false;
    while (!try_fcntl_lock(fd, path.string(), type)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            const std::string holder = read_holder(fd);
            throw LockTimeout(
                fmt::format("cannot lock vmid {} in '{}': held by another pvediff ({}waited {} s)", vmid,
                            dump_dir.string(), holder.empty() ? "" : holder + "; ", timeout.count()));
        }
        if (!told && on_wait) {
            told = true;
            on_wait();
        }
        std::this_thread::sleep_for(lock_poll_interval);
    }
}

}  // namespace

GuestLock::GuestLock(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid,
                     std::chrono::seconds timeout, const std::function<void()>& on_wait)
    : path_(lock_path(dump_dir, type, vmid)), fd_(create_or_open_lock_file(path_))
{
    wait_for_lock(fd_.get(), path_, F_WRLCK, dump_dir, vmid, timeout, on_wait);
    record_holder(fd_.get(), path_.string());
}

GuestLock GuestLock::for_reading(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid,
                                 std::chrono::seconds timeout, const std::function<void()>& on_wait)
{
    auto path = lock_path(dump_dir, type, vmid);
    const io::DirHandle dir = io::DirHandle::of(path);
    if (!dir.stat_entry(path.filename().string())) {
        return GuestLock(std::move(path), io::Fd());  // no pvediff ever changed this guest here
    }
    io::Fd fd = open_lock_file(path, O_RDONLY);
    wait_for_lock(fd.get(), path, F_RDLCK, dump_dir, vmid, timeout, on_wait);
    return GuestLock(std::move(path), std::move(fd));
}

std::optional<GuestLock> GuestLock::try_lock(const std::filesystem::path& dump_dir, GuestType type,
                                             std::uint32_t vmid)
{
    auto path = lock_path(dump_dir, type, vmid);
    io::Fd fd = create_or_open_lock_file(path);
    if (!try_fcntl_lock(fd.get(), path.string())) {
        return std::nullopt;
    }
    record_holder(fd.get(), path.string());
    return GuestLock(std::move(path), std::move(fd));
}

}  // namespace pvediff::store
