// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// One lock per guest (type + VMID) in the dump dir, held by everything that changes
// that guest's chains: backup (convert, write a full), prune, removal of orphans
// (docs/data-safety.md, rule 3).
//
// - The lock is an fcntl() write lock on the hidden file ".pvediff-lock-<type>-<vmid>"
//   in the dump dir (never a backup name). fcntl locks, unlike flock() on some
//   kernels, reach the server on NFSv4 and CephFS, so PVE nodes sharing one dump dir
//   are serialised too. Open-file-description locks (F_OFD_SETLK) are used where the
//   kernel has them, so two locks in one process (threads) also exclude each other;
//   older kernels fall back to process locks (F_SETLK).
// - The file is never deleted: deleting a lock file races with a process that has
//   just opened it and would then lock a file nobody else sees.
// - The lock file is created exclusively (O_EXCL) or, when it exists, opened without
//   following a link and only if it is a regular file with one name, empty or holding
//   a "pid ..." line (io::DirHandle): a link or a file planted under the lock's name
//   on a shared dump dir is refused, never written into.
// - After taking the lock its holder writes "pid <pid> on <host>" into the file,
//   only so that a waiting process can say who holds it.
// - Released when the guard is destroyed or the process dies (the kernel and the NFS
//   server drop fcntl locks of a dead process).
// - There is no lock over the whole dump dir: prune takes each guest's lock in turn
//   (scanning again under it), so a long prune never blocks the backup of another
//   guest, and two prunes of one dir just serialise per guest.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "pvediff/store/names.h"

namespace pvediff::store {

// How often a waiting run tries the lock again. Short, because another run that takes
// the lock between two tries wins it: at 100 ms a backup waiting behind a series of
// short runs (prune, verify, other backups of the guest) could wait for all of them
// (the concurrency suite saw one wait through three backups). 20 ms is 50 lock calls a
// second, little even over NFS.
inline constexpr std::chrono::milliseconds lock_poll_interval{20};

// The lock is held by another run and `timeout` passed: a distinct type, so the
// cli can give scripts a distinct exit status (try again later, nothing is wrong).
class LockTimeout : public io::Error {
public:
    using io::Error::Error;
};

class GuestLock {
public:
    // Takes the lock, polling every 100 ms for up to `timeout` (0: one try), then
    // throws LockTimeout: "cannot lock vmid 101 in '/dir': held by another pvediff
    // (pid 4242 on pve1; waited 600 s)". `on_wait`, if given, is called once when the
    // first try fails (so the caller can log that it waits).
    GuestLock(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid,
              std::chrono::seconds timeout, const std::function<void()>& on_wait = {});
    GuestLock(GuestLock&&) noexcept = default;
    GuestLock& operator=(GuestLock&&) noexcept = default;
    GuestLock(const GuestLock&) = delete;
    GuestLock& operator=(const GuestLock&) = delete;
    ~GuestLock() = default;  // closing the descriptor releases the lock

    // For a run that changes nothing (--dry-run): a read lock, so it waits while a
    // change is under way but writes nothing, creates nothing and works on a read-only
    // dir. When there is no lock file, nothing is locked (no pvediff has changed this
    // guest here yet) and none is created.
    static GuestLock for_reading(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid,
                                 std::chrono::seconds timeout, const std::function<void()>& on_wait = {});

    // One try, no waiting: nullopt when another pvediff holds the lock.
    static std::optional<GuestLock> try_lock(const std::filesystem::path& dump_dir, GuestType type,
                                             std::uint32_t vmid);

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    GuestLock(std::filesystem::path path, io::Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

    std::filesystem::path path_;
    io::Fd fd_;
};

// "<dump_dir>/.pvediff-lock-<type>-<vmid>"
std::filesystem::path lock_path(const std::filesystem::path& dump_dir, GuestType type, std::uint32_t vmid);

}  // namespace pvediff::store
