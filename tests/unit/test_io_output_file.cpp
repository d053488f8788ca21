// SPDX-License-Identifier: GPL-2.0-or-later
// A command's output (io::OutputFile) named by an existing file that is not a regular
// one: a character device or a FIFO is written into and stays what it is; anything
// else is refused. Before, --force moved a regular file over it: `pvediff diff ...
// -o /dev/null -f` run as root made /dev/null a regular file for the whole machine.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "pvediff/io/output_file.h"
#include "test_io_helpers.h"

namespace pvediff::io {
namespace {

mode_t kind_of(const std::filesystem::path& path)
{
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & S_IFMT;
}

// A device node of the test's own (root only; skipped elsewhere).
bool make_node(const std::filesystem::path& path, mode_t kind, unsigned major_number, unsigned minor_number)
{
    if (::mknod(path.c_str(), kind | 0600, makedev(major_number, minor_number)) == 0) {
        return true;
    }
    EXPECT_EQ(errno, EPERM) << std::strerror(errno);
    return false;
}

// A FIFO at `path`, held open here for reading and writing, so that opening it to
// write does not wait for a reader, and what is written stays in the pipe (less than
// its 64 KiB); the descriptor reads it back.
Fd make_held_fifo(const std::filesystem::path& path)
{
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
    Fd reader(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(reader.valid()) << std::strerror(errno);
    return reader;
}

TEST(IoOutputFile, ACharacterDeviceIsWrittenIntoNotReplaced)
{
    test::TempDir dir;
    const auto null_device = dir / "null";
    if (!make_node(null_device, S_IFCHR, 1, 3)) {  // the kernel's null device
        GTEST_SKIP() << "mknod needs root";
    }
    {
        OutputFile out(null_device, Codec::zstd);
        EXPECT_TRUE(out.to_stream());
        out.sink().write(test::make_data(200000, 1));
        out.finish();
        out.commit(OutputFile::Existing::replace);
    }
    EXPECT_EQ(kind_of(null_device), S_IFCHR);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "no temporary left";
}

TEST(IoOutputFile, AFifoIsWrittenIntoNotReplaced)
{
    test::TempDir dir;
    const auto fifo = dir / "fifo";
    const Fd reader = make_held_fifo(fifo);
    ASSERT_TRUE(reader.valid());
    const auto data = test::make_data(20000, 2);
    {
        OutputFile out(fifo, Codec::none);
        EXPECT_TRUE(out.to_stream());
        out.sink().write(data);
        out.finish();
        out.commit(OutputFile::Existing::replace);
    }
    EXPECT_EQ(kind_of(fifo), S_IFIFO);
    std::vector<std::uint8_t> got(data.size() + 1);
    const ssize_t n = ::read(reader.get(), got.data(), got.size());
    ASSERT_GE(n, 0) << std::strerror(errno);
    got.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(got, data);
}

// A name pvediff chose itself (restore --pve-name) is not written into, whatever
// appeared under it: the new file's commit refuses to take its place, and the FIFO
// stays, nothing written through it.
TEST(IoOutputFile, AFifoIsRefusedWhereOnlyANewFileMayGo)
{
    test::TempDir dir;
    const auto fifo = dir / "fifo";
    const Fd reader = make_held_fifo(fifo);
    ASSERT_TRUE(reader.valid());
    {
        OutputFile out(fifo, Codec::none, {}, {}, OutputFile::Stream::refuse);
        EXPECT_FALSE(out.to_stream());
        out.sink().write(test::make_data(20000, 3));
        out.finish();
        EXPECT_THROW(out.commit(OutputFile::Existing::refuse), Error);
    }
    EXPECT_EQ(kind_of(fifo), S_IFIFO);
    std::vector<std::uint8_t> got(16);
    EXPECT_LT(::read(reader.get(), got.data(), got.size()), 1) << "nothing went through the FIFO";
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "no temporary left";
}

TEST(IoOutputFile, OtherFilesThatAreNotRegularAreRefused)
{
    test::TempDir dir;
    std::filesystem::create_directory(dir / "a-directory");
    EXPECT_THROW(OutputFile(dir / "a-directory", Codec::none), Error);
    EXPECT_TRUE(std::filesystem::is_directory(dir / "a-directory"));
    const auto block = dir / "block";
    // A loop device number no machine has set up: nothing is ever opened anyway.
    if (!make_node(block, S_IFBLK, 7, 250)) {
        GTEST_SKIP() << "mknod needs root";
    }
    try {
        OutputFile out(block, Codec::none);
        ADD_FAILURE() << "a block device was taken as an output";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("is a block device"), std::string::npos) << e.what();
    }
    EXPECT_EQ(kind_of(block), S_IFBLK);
}

TEST(IoOutputFile, ARegularFileIsStillReplacedAtomically)
{
    test::TempDir dir;
    test::write_file(dir / "out", test::make_data(1000, 3));
    const auto data = test::make_data(5000, 4);
    {
        OutputFile out(dir / "out", Codec::none);
        EXPECT_FALSE(out.to_stream());
        out.sink().write(data);
        out.finish();
        out.commit(OutputFile::Existing::replace);
    }
    EXPECT_EQ(test::read_file(dir / "out"), data);
}

}  // namespace
}  // namespace pvediff::io
