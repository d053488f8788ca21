// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/guest_lock.h"

#include <cerrno>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

#include "pvediff/io/error.h"
#include "pvediff/store/entry_name.h"

namespace pvediff::store {
namespace {

// true: locked; false: held by someone else. Throws on any other failure.
bool try_fcntl_lock(int fd, const std::string& path)
{
    struct flock fl {};
    fl.l_type = F_WRLCK;
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

// Informational only: who holds it, for the message of those who wait.
void record_holder(int fd)
{
    const std::string text = "pid " + std::to_string(::getpid()) + " on " + host_name() + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const auto n = ::pwrite(fd, text.data(), text.size(), 0);
    }
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

io::Fd open_lock_file(const std::filesystem::path& path)
{
    return io::open_fd(path.string(), O_RDWR | O_CREAT, 0600);
}

}  // namespace

std::filesystem::path lock_path(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid)
{
    return dump_dir / lock_file_name(type, vmid);
}

GuestLock::GuestLock(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid,
                     std::chrono::seconds timeout, const std::function<void()>& on_wait)
    : path_(lock_path(dump_dir, type, vmid)), fd_(open_lock_file(path_))
{
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    bool told = false;
    while (!try_fcntl_lock(fd_.get(), path_.string())) {
        if (std::chrono::steady_clock::now() >= deadline) {
            const std::string holder = read_holder(fd_.get());
            throw LockTimeout("cannot lock vmid " + std::to_string(vmid) + " in '" + dump_dir.string() +
                            "': held by another pvediff (" + (holder.empty() ? "" : holder + "; ") + "waited " +
                            std::to_string(timeout.count()) + " s)");
        }
        if (!told && on_wait) {
            told = true;
            on_wait();
        }
        std::this_thread::sleep_for(lock_poll_interval);
    }
    record_holder(fd_.get());
}

std::optional<GuestLock> GuestLock::try_lock(const std::filesystem::path& dump_dir, GuestType type,
                                             std::uint32_t vmid)
{
    auto path = lock_path(dump_dir, type, vmid);
    io::Fd fd = open_lock_file(path);
    if (!try_fcntl_lock(fd.get(), path.string())) {
        return std::nullopt;
    }
    record_holder(fd.get());
    return GuestLock(std::move(path), std::move(fd));
}

}  // namespace pvediff::store
