// SPDX-License-Identifier: GPL-2.0-or-later
// Files, descriptors, atomic replacement, and the in-memory stream endpoints.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "pvediff/io/error.h"
#include "test_io_helpers.h"

// Stands in for the C library's sync_file_range in this test program (the io library
// is linked in statically, so its calls bind here): when asked to, the call that waits
// for write-back fails with EIO, as it does when the disk lost a write.
namespace {
std::atomic<bool> wait_fails_with_eio{false};
}  // namespace

extern "C" int sync_file_range(int fd, __off64_t offset, __off64_t count, unsigned int flags)
{
    if (wait_fails_with_eio && (flags & SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
        errno = EIO;
        return -1;
    }
    return static_cast<int>(::syscall(SYS_sync_file_range, fd, offset, count, flags));
}

namespace pvediff::io {
namespace {

using test::bytes_of;

std::vector<std::string> names_in(const std::filesystem::path& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

TEST(IoAtomicFile, CommitMakesTheFileAppear)
{
    test::TempDir dir;
    const auto data = test::make_data(300000, 1);
    {
        AtomicFile file(dir / "x.vma.zst", 0640);
        EXPECT_TRUE(is_temp_name(file.temp_path().filename().string()));
        EXPECT_EQ(file.temp_path().parent_path(), dir.path());
        file.sink().write(data);
        // Nothing under the final name before commit.
        EXPECT_FALSE(std::filesystem::exists(dir / "x.vma.zst"));
        EXPECT_EQ(names_in(dir.path()), std::vector{file.temp_path().filename().string()});
        file.commit();
    }
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"x.vma.zst"});
    EXPECT_EQ(test::read_file(dir / "x.vma.zst"), data);
    struct stat st {};
    ASSERT_EQ(::stat((dir / "x.vma.zst").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777 & ~0022U, 0640U & ~0022U);  // umask may take more
}

TEST(IoAtomicFile, CommitReplacesAnExistingFile)
{
    test::TempDir dir;
    test::write_file(dir / "f", bytes_of("old"));
    AtomicFile file(dir / "f");
    file.sink().write(bytes_of("new"));
    file.commit();
    EXPECT_EQ(test::read_file(dir / "f"), bytes_of("new"));
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"f"});
}

TEST(IoAtomicFile, DestructionWithoutCommitLeavesNothing)
{
    test::TempDir dir;
    {
        AtomicFile file(dir / "x.vcdiff");
        file.sink().write(test::make_data(10000, 2));
    }
    EXPECT_TRUE(names_in(dir.path()).empty());
    // Also when an exception unwinds through it, as in a failed backup.
    try {
        AtomicFile file(dir / "y.vcdiff");
        auto zst = make_compressor(file.sink(), Codec::zstd);
        zst->write(test::make_data(10000, 3));
        throw Error("simulated failure");
    } catch (const Error&) {
    }
    EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(IoAtomicFile, CommitNoReplaceRefusesAnExistingFile)
{
    test::TempDir dir;
    test::write_file(dir / "full.vma.zst", bytes_of("precious"));
    {
        AtomicFile file(dir / "full.vma.zst");
        file.sink().write(bytes_of("intruder"));
        try {
            file.commit_no_replace();
            FAIL() << "existing file replaced";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find((dir / "full.vma.zst").string()), std::string::npos)
                << e.what();
            EXPECT_NE(std::string(e.what()).find("File exists"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(test::read_file(dir / "full.vma.zst"), bytes_of("precious"));
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"full.vma.zst"});

    AtomicFile fresh(dir / "new");
    fresh.sink().write(bytes_of("content"));
    fresh.commit_no_replace();
    EXPECT_EQ(test::read_file(dir / "new"), bytes_of("content"));
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"full.vma.zst", "new"}));
}

TEST(IoAtomicFile, WriteFileAtomicAndTempNames)
{
    test::TempDir dir;
    write_file_atomic(dir / "manifest", "key: value\n");
    EXPECT_EQ(test::read_file(dir / "manifest"), bytes_of("key: value\n"));
    const auto a = temp_path_for(dir / "x.vma");
    const auto b = temp_path_for(dir / "x.vma");
    EXPECT_NE(a, b);
    EXPECT_TRUE(is_temp_name(a.filename().string()));
    EXPECT_EQ(a.filename().string().rfind(".x.vma.", 0), 0U);  // hidden, never a vzdump name
    EXPECT_FALSE(is_temp_name("vzdump-qemu-101-2026_11_20-01_00_00.vma.zst"));
    EXPECT_THROW(AtomicFile(dir / "missing-dir" / "f"), Error);
}

// Issue 13, row 15: a temporary name says which process on which host writes it,
// so that a backup never removes a live run's temporary.
TEST(IoAtomicFile, TempNamesCarryPidAndHost)
{
    test::TempDir dir;
    const auto owner = temp_owner(temp_path_for(dir / "x.vma").filename().string());
    ASSERT_TRUE(owner);
    EXPECT_EQ(owner->pid, ::getpid());
    EXPECT_EQ(owner->host, temp_host_tag());
    EXPECT_EQ(temp_host_tag().find('.'), std::string::npos);          // the final name is up to the last dot
    const auto old_style = temp_owner(".x.vma.4242-17.pvediff-tmp");  // older pvediff: no host
    ASSERT_TRUE(old_style);
    EXPECT_EQ(old_style->pid, 4242);
    EXPECT_EQ(old_style->host, "");
    EXPECT_FALSE(temp_owner(".x.vma.abc-17.pvediff-tmp"));
    EXPECT_FALSE(temp_owner("x.vma"));
}

TEST(IoFd, OpenReadWriteAndErrors)
{
    test::TempDir dir;
    const std::string path = (dir / "f").string();
    try {
        open_fd(path, O_RDONLY);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "cannot open '" + path + "': No such file or directory");
    }
    {
        Fd fd = open_fd(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        EXPECT_TRUE(fd.valid());
        EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
        write_all(fd.get(), bytes_of("hello, world"), path);
        fsync_fd(fd.get(), path);
    }
    fsync_dir(dir.path().string());
    Fd fd = open_fd(path, O_RDONLY);
    std::vector<std::uint8_t> buf(5);
    pread_exact(fd.get(), buf, 7, path);
    EXPECT_EQ(buf, bytes_of("world"));
    try {
        pread_exact(fd.get(), buf, 10, path);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "'" + path + "': offset 12: unexpected end of file");
    }
    std::vector<std::uint8_t> all(100);
    EXPECT_EQ(read_some(fd.get(), all, path), 12U);
    EXPECT_EQ(read_some(fd.get(), all, path), 0U);
    EXPECT_THROW(write_all(fd.get(), bytes_of("x"), path), Error);  // read-only
}

TEST(IoFd, MoveAndRelease)
{
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    Fd a(pipefd[0]);
    Fd b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(b.get(), pipefd[0]);
    Fd c(pipefd[1]);
    c = std::move(b);  // closes pipefd[1]
    EXPECT_EQ(::fcntl(pipefd[1], F_GETFD), -1);
    EXPECT_EQ(c.get(), pipefd[0]);
    const int raw = c.release();
    EXPECT_FALSE(c.valid());
    EXPECT_EQ(::fcntl(raw, F_GETFD) >= 0, true);
    c.reset(raw);
    c.reset();
    EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
}

TEST(IoFileStream, SourceAndSinkOnFiles)
{
    test::TempDir dir;
    const auto data = test::make_data(2'500'000, 4);
    test::write_file(dir / "in", data);
    FileSource in((dir / "in").string());
    EXPECT_EQ(in.name(), (dir / "in").string());
    AtomicFile out(dir / "out");
    EXPECT_EQ(copy_stream(in, out.sink(), 100'000), data.size());
    EXPECT_EQ(in.offset(), data.size());
    out.commit();
    EXPECT_EQ(test::read_file(dir / "out"), data);
    EXPECT_THROW(FileSource((dir / "nope").string()), Error);
}

// Files larger than a few flush steps are handed to the disk while they grow
// (sync_file_range); on a pipe that cannot be done, and the sink just writes.
TEST(IoFileStream, FlushBehindKeepsEveryByte)
{
    test::TempDir dir;
    const auto data = test::make_data(100'000'000, 9);
    AtomicFile out(dir / "big");
    for (std::size_t at = 0; at < data.size();) {
        const std::size_t n = std::min<std::size_t>(data.size() - at, 3'000'017);
        out.sink().write(std::span(data).subspan(at, n));
        at += n;
    }
    out.commit();
    EXPECT_EQ(test::read_file(dir / "big"), data);

    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    Fd read_end(fds[0]);
    Fd write_end(fds[1]);
    ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    FdSink pipe_sink(write_end.get(), "<pipe>", /*flush_behind=*/true);
    std::vector<std::uint8_t> got(data.size());
    std::size_t received = 0;
    std::thread reader([&] {
        while (received < got.size()) {
            const ssize_t n = ::read(read_end.get(), got.data() + received, got.size() - received);
            if (n <= 0) {
                break;
            }
            received += static_cast<std::size_t>(n);
        }
    });
    pipe_sink.write(data);
    write_end.reset();
    reader.join();
    EXPECT_EQ(received, data.size());
    EXPECT_TRUE(got == data);
}

// The kernel reports a write-back error once per descriptor: to the call that waited,
// not to the fsync after it. So a failed wait must fail the file, never be ignored.
TEST(IoFileStream, WriteBackErrorWhileFlushingBehindFailsTheFile)
{
    test::TempDir dir;
    const auto data = test::make_data(10'000'000, 10);
    {
        AtomicFile out(dir / "lost");
        wait_fails_with_eio = true;
        bool threw = false;
        try {
            for (int i = 0; i < 10; ++i) {
                out.sink().write(data);
            }
        } catch (const Error& e) {
            threw = true;
            EXPECT_NE(std::string(e.what()).find("lost"), std::string::npos) << e.what();
        }
        wait_fails_with_eio = false;
        EXPECT_TRUE(threw);
    }
    // Not committed: nothing is left, not even the temporary file.
    EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(IoByteStream, MemoryPrefixedAndHelpers)
{
    const auto data = test::make_data(10000, 5);
    MemorySource src(data, "m");
    std::vector<std::uint8_t> head(16);
    EXPECT_EQ(read_full(src, head), 16U);
    PrefixedSource replay(head, std::make_unique<MemorySource>(
                                    std::vector<std::uint8_t>(data.begin() + 16, data.end()), "rest"));
    EXPECT_EQ(replay.name(), "rest");
    EXPECT_EQ(test::decompress_all(std::make_unique<PrefixedSource>(std::move(replay)), 7), data);

    MemorySource small(bytes_of("abc"));
    std::vector<std::uint8_t> big(10);
    EXPECT_EQ(read_full(small, big), 3U);
    EXPECT_EQ(read_full(small, big), 0U);

    NullSink null;
    MemorySource again(data);
    EXPECT_EQ(copy_stream(again, null, 333), data.size());
    EXPECT_EQ(null.bytes(), data.size());
}

}  // namespace
}  // namespace pvediff::io
