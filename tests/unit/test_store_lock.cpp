// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvediff/io/error.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/guest_lock.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;

namespace {

// Runs `child` in a forked process; returns its exit status.
template <typename F>
int in_child(F child)
{
    const pid_t pid = ::fork();
    if (pid == 0) {
        int rc = 99;
        try {
            rc = child();
        } catch (...) {
            rc = 98;
        }
        ::_exit(rc);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 97;
}

TEST(StoreLock, SecondProcessWaitsThenTimesOutWithAClearError)
{
    test::TempDir dir;
    GuestLock lock(dir.path(), GuestType::qemu, 101, std::chrono::seconds(0));
    EXPECT_EQ(lock.path(), dir / ".pvediff-lock-qemu-101");
    const int rc = in_child([&] {
        bool waited = false;
        try {
            GuestLock second(dir.path(), GuestType::qemu, 101, std::chrono::seconds(1),
                             [&] { waited = true; });
        } catch (const io::Error& e) {
            const std::string msg = e.what();
            const std::string expected = "cannot lock vmid 101 in '" + dir.path().string() +
                                         "': held by another pvediff (pid " + std::to_string(::getppid()) +
                                         " on ";
            if (msg.rfind(expected, 0) != 0 || !msg.ends_with("; waited 1 s)")) {
                std::fprintf(stderr, "unexpected message: %s\n", msg.c_str());
                return 2;
            }
            return waited ? 0 : 3;
        }
        return 1;
    });
    EXPECT_EQ(rc, 0);
    // Another guest's lock is independent.
    EXPECT_EQ(in_child([&] { return GuestLock::try_lock(dir.path(), GuestType::lxc, 101) ? 0 : 1; }), 0);
    EXPECT_EQ(in_child([&] { return GuestLock::try_lock(dir.path(), GuestType::qemu, 101) ? 1 : 0; }), 0);
}

TEST(StoreLock, ReleasedOnDestructionAndMove)
{
    test::TempDir dir;
    {
        GuestLock lock(dir.path(), GuestType::lxc, 200, std::chrono::seconds(0));
        GuestLock moved = std::move(lock);
        EXPECT_EQ(in_child([&] { return GuestLock::try_lock(dir.path(), GuestType::lxc, 200) ? 1 : 0; }), 0);
    }
    EXPECT_EQ(in_child([&] { return GuestLock::try_lock(dir.path(), GuestType::lxc, 200) ? 0 : 1; }), 0);
    // Within one process too (open-file-description locks).
    auto first = GuestLock::try_lock(dir.path(), GuestType::lxc, 200);
    ASSERT_TRUE(first);
    EXPECT_FALSE(GuestLock::try_lock(dir.path(), GuestType::lxc, 200));
    first.reset();
    EXPECT_TRUE(GuestLock::try_lock(dir.path(), GuestType::lxc, 200));
}

TEST(StoreLock, WaiterGetsTheLockWhenTheHolderExits)
{
    test::TempDir dir;
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t holder = ::fork();
    if (holder == 0) {
        GuestLock lock(dir.path(), GuestType::qemu, 300, std::chrono::seconds(0));
        const char c = 'x';
        [[maybe_unused]] auto n = ::write(ready[1], &c, 1);
        ::usleep(300 * 1000);
        ::_exit(0);
    }
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    ::close(ready[1]);
    bool waited = false;
    GuestLock lock(dir.path(), GuestType::qemu, 300, std::chrono::seconds(30), [&] { waited = true; });
    EXPECT_TRUE(waited);
    int status = 0;
    ::waitpid(holder, &status, 0);
    // The lock file is hidden and never a backup.
    EXPECT_TRUE(scan_dump_dir(dir.path()).guests.empty());
}

TEST(StoreLock, UnwritableDirIsAnError)
{
    EXPECT_THROW(GuestLock("/nonexistent-dir", GuestType::qemu, 1, std::chrono::seconds(0)), io::Error);
}

// Issue 13, row 1: a lock file name planted by someone who can write the share.
std::string lock_error(const std::filesystem::path& dir)
{
    try {
        GuestLock lock(dir, GuestType::qemu, 999, std::chrono::seconds(0));
    } catch (const io::Error& e) {
        return e.what();
    }
    return "";
}

std::string content_of(const std::filesystem::path& p)
{
    const auto b = test::read_file(p);
    return {b.begin(), b.end()};
}

TEST(StoreLock, ASymlinkAsLockFileIsRefusedAndItsTargetUntouched)
{
    test::TempDir dir;
    test::write_file(dir / "victim", {'r', 'o', 'o', 't', '\n'});
    std::filesystem::create_directory(dir / "d");
    std::filesystem::create_symlink(dir / "victim", dir / "d" / ".pvediff-lock-qemu-999");
    const std::string msg = lock_error(dir / "d");
    EXPECT_NE(msg.find(".pvediff-lock-qemu-999' is a symbolic link"), std::string::npos) << msg;
    EXPECT_EQ(content_of(dir / "victim"), "root\n");
    EXPECT_THROW(GuestLock::for_reading(dir / "d", GuestType::qemu, 999, std::chrono::seconds(0)), io::Error);
    EXPECT_EQ(content_of(dir / "victim"), "root\n");
}

TEST(StoreLock, ADanglingSymlinkAsLockFileDoesNotCreateItsTarget)
{
    test::TempDir dir;
    std::filesystem::create_symlink(dir / "created-by-root", dir / ".pvediff-lock-qemu-999");
    EXPECT_NE(lock_error(dir.path()).find("symbolic link"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir / "created-by-root"));
}

TEST(StoreLock, AFileHoldingSomethingElseOrWithTwoNamesIsNotTruncated)
{
    test::TempDir dir;
    test::write_file(dir / ".pvediff-lock-qemu-999", {'d', 'a', 't', 'a'});
    EXPECT_NE(lock_error(dir.path()).find("is not a pvediff lock file (it holds something else)"),
              std::string::npos);
    EXPECT_EQ(content_of(dir / ".pvediff-lock-qemu-999"), "data");

    test::TempDir dir2;
    test::write_file(dir2 / "other", {});
    ASSERT_EQ(::link((dir2 / "other").c_str(), (dir2 / ".pvediff-lock-qemu-999").c_str()), 0);
    EXPECT_NE(lock_error(dir2.path()).find("it has 2 names"), std::string::npos);
    EXPECT_EQ(content_of(dir2 / "other"), "");
}

TEST(StoreLock, AnOldLockFileIsReusedAndRewritten)
{
    test::TempDir dir;
    test::write_file(dir / ".pvediff-lock-qemu-999",
                     std::vector<std::uint8_t>{'p', 'i', 'd', ' ', '1', '\n'});
    {
        GuestLock lock(dir.path(), GuestType::qemu, 999, std::chrono::seconds(0));
    }
    EXPECT_EQ(
        content_of(dir / ".pvediff-lock-qemu-999").rfind("pid " + std::to_string(::getpid()) + " on ", 0),
        0u);
}

TEST(StoreLock, ReadingLockCreatesNothingAndWaitsForAWriter)
{
    test::TempDir dir;
    {
        const GuestLock none = GuestLock::for_reading(dir.path(), GuestType::lxc, 7, std::chrono::seconds(0));
    }
    EXPECT_FALSE(std::filesystem::exists(dir / ".pvediff-lock-lxc-7"));
    GuestLock writer(dir.path(), GuestType::lxc, 7, std::chrono::seconds(0));
    const auto before = test::read_file(dir / ".pvediff-lock-lxc-7");
    const int rc = in_child([&] {
        try {
            GuestLock::for_reading(dir.path(), GuestType::lxc, 7, std::chrono::seconds(0));
        } catch (const io::Error& e) {
            return std::string(e.what()).find("held by another pvediff") != std::string::npos ? 0 : 2;
        }
        return 1;
    });
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(test::read_file(dir / ".pvediff-lock-lxc-7"), before);
}

}  // namespace
