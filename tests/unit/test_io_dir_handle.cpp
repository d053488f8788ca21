// SPDX-License-Identifier: GPL-2.0-or-later
// io::DirHandle, the one way into a dump dir: only regular files are opened, nothing is
// followed, nothing blocks, nothing that exists is opened for writing or truncated.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "test_util.h"

namespace pvediff::io {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> bytes(const std::string& s)
{
    return {s.begin(), s.end()};
}

// A file outside the dump dir that root could be tricked into reading or writing.
struct Victim {
    explicit Victim(const test::TempDir& dir) : path(dir / "victim")
    {
        test::write_file(path, bytes("root-owned\n"));
        ::chmod(path.c_str(), 0600);
    }
    [[nodiscard]] bool untouched() const { return test::read_file(path) == bytes("root-owned\n"); }
    fs::path path;
};

TEST(IoDirHandle, OpensARegularFile)
{
    test::TempDir dir;
    test::write_file(dir / "a", bytes("hello"));
    const DirHandle d(dir.path());
    Fd fd = d.open_regular("a");
    char buf[8] = {};
    ASSERT_EQ(::read(fd.get(), buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf, 5), "hello");
    // Blocking again: a reader never sees EAGAIN.
    EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
    EXPECT_FALSE(d.open_regular_if_exists("missing").has_value());
    EXPECT_NE(test::error_of([&] { (void)d.open_regular("missing"); }).find("No such file"),
              std::string::npos);
}

TEST(IoDirHandle, RefusesASymlinkToAFileAndNamesIt)
{
    test::TempDir dir;
    const Victim victim(dir);
    fs::create_directory(dir / "d");
    fs::create_symlink(victim.path, dir / "d" / "x.pvediff-manifest");
    const DirHandle d(dir / "d");
    const std::string msg = test::error_of([&] { (void)d.open_regular_if_exists("x.pvediff-manifest"); });
    EXPECT_NE(msg.find((dir / "d" / "x.pvediff-manifest").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("is a symbolic link"), std::string::npos) << msg;
    EXPECT_NE(msg.find("remove or rename it"), std::string::npos) << msg;
    // Also the path-based helpers every input goes through.
    EXPECT_NE(test::error_of([&] { (void)open_regular_file(dir / "d" / "x.pvediff-manifest"); }), "");
    EXPECT_NE(test::error_of([&] { FileSource s((dir / "d" / "x.pvediff-manifest").string()); }), "");
    EXPECT_TRUE(victim.untouched());
}

TEST(IoDirHandle, RefusesADanglingSymlinkInsteadOfCallingItMissing)
{
    test::TempDir dir;
    fs::create_symlink(dir / "nowhere", dir / "n");
    const DirHandle d(dir.path());
    EXPECT_NE(test::error_of([&] { (void)d.open_regular_if_exists("n"); }).find("symbolic link"),
              std::string::npos);
    // Creating under that name neither follows the link nor creates its target.
    EXPECT_FALSE(d.try_create_exclusive("n").has_value());
    EXPECT_FALSE(fs::exists(dir / "nowhere"));
}

TEST(IoDirHandle, RefusesAFifoWithoutBlocking)
{
    test::TempDir dir;
    ASSERT_EQ(::mkfifo((dir / "f").c_str(), 0600), 0);
    const DirHandle d(dir.path());
    // Were it opened for reading, this would wait for a writer for ever.
    EXPECT_NE(test::error_of([&] { (void)d.open_regular("f"); }).find("is a FIFO (named pipe)"),
              std::string::npos);
    EXPECT_NE(test::error_of([&] { (void)d.open_regular("f", O_RDWR); }).find("FIFO"), std::string::npos);
}

TEST(IoDirHandle, RefusesADirectoryASocketAndADevice)
{
    test::TempDir dir;
    fs::create_directory(dir / "sub");
    const DirHandle d(dir.path());
    EXPECT_NE(test::error_of([&] { (void)d.open_regular("sub"); }).find("is a directory"), std::string::npos);
    EXPECT_NE(test::error_of([&] { (void)d.unlink("sub"); }), "");
    EXPECT_TRUE(fs::is_directory(dir / "sub"));

    const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(s, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string sock = (dir / "s").string();
    ASSERT_LT(sock.size(), sizeof addr.sun_path);
    std::copy(sock.begin(), sock.end(), addr.sun_path);
    ASSERT_EQ(::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ::close(s);
    EXPECT_NE(test::error_of([&] { (void)d.open_regular("s"); }).find("is a socket"), std::string::npos);

    // A device node needs privileges to make; a link to one is refused as a link anyway.
    if (::mknod((dir / "null").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
        EXPECT_NE(test::error_of([&] { (void)d.open_regular("null"); }).find("is a character device"),
                  std::string::npos);
    }
    fs::create_symlink("/dev/null", dir / "null-link");
    EXPECT_NE(test::error_of([&] { (void)d.open_regular("null-link"); }).find("symbolic link"),
              std::string::npos);
}

TEST(IoDirHandle, CreatesExclusivelyAndNeverTruncates)
{
    test::TempDir dir;
    const Victim victim(dir);
    fs::create_directory(dir / "d");
    test::write_file(dir / "d" / "taken", bytes("keep me"));
    fs::create_symlink(victim.path, dir / "d" / "link");
    const DirHandle d(dir / "d");
    EXPECT_NE(test::error_of([&] { (void)d.create_exclusive("taken"); }).find("File exists"),
              std::string::npos);
    EXPECT_FALSE(d.try_create_exclusive("link").has_value());
    EXPECT_EQ(test::read_file(dir / "d" / "taken"), bytes("keep me"));
    EXPECT_TRUE(victim.untouched());

    Fd fd = d.create_exclusive("new");
    struct stat st {};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777 & ~0600u, 0u);  // 0600 at most
    EXPECT_THROW((void)d.open_regular("taken", O_RDWR | O_TRUNC), Error);
}

TEST(IoDirHandle, RenameLinkAndUnlinkStayInTheDirectoryAndNeverFollow)
{
    test::TempDir dir;
    const Victim victim(dir);
    fs::create_directory(dir / "d");
    const DirHandle d(dir / "d");
    test::write_file(dir / "d" / "a", bytes("A"));
    fs::create_symlink(victim.path, dir / "d" / "b");
    d.rename("a", "b");  // replaces the link, does not write through it
    EXPECT_FALSE(fs::is_symlink(dir / "d" / "b"));
    EXPECT_EQ(test::read_file(dir / "d" / "b"), bytes("A"));
    EXPECT_TRUE(victim.untouched());
    fs::create_symlink(victim.path, dir / "d" / "c");
    EXPECT_THROW(d.link("b", "c"), Error);
    EXPECT_TRUE(d.unlink("c"));  // the link goes, its target stays
    EXPECT_TRUE(victim.untouched());
    EXPECT_FALSE(d.unlink("c"));
    EXPECT_THROW(d.rename("b", "../escape"), Error);
    EXPECT_THROW((void)d.open_regular("../victim"), Error);
}

TEST(IoDirHandle, AnOpenedFileIsDecompressedAndAPathThroughALinkIsNot)
{
    test::TempDir dir;
    const std::string text = "content of the full\n";
    const std::string gz = (dir / "full.tar.gz").string();
    ASSERT_EQ(test::run("printf %s " + test::shell_quote(text) + " | gzip -c > " + test::shell_quote(gz)), 0);
    const DirHandle d(dir.path());
    DecodedInput in = open_decompressed(d.open_regular("full.tar.gz"), gz);
    EXPECT_EQ(in.codec, Codec::gzip);
    std::vector<std::uint8_t> buf(100);
    std::size_t got = 0;
    while (const std::size_t n = in.source->read(std::span(buf).subspan(got))) {
        got += n;
    }
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got)), text);
    fs::create_symlink(gz, dir / "link.tar.gz");
    EXPECT_NE(test::error_of([&] {
                  (void)open_decompressed((dir / "link.tar.gz").string());
              }).find("symbolic link"),
              std::string::npos);
}

TEST(IoAtomicFileMode, TemporaryIs0600AndTheFileGetsTheModeItIsGiven)
{
    test::TempDir dir;
    test::write_file(dir / "archive", bytes("secret"));
    ::chmod((dir / "archive").c_str(), 0640);
    AtomicFile file(dir / "out", mode_like(dir / "archive"));
    struct stat st {};
    ASSERT_EQ(::stat(file.temp_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    file.sink().write(bytes("x"));
    file.commit();
    ASSERT_EQ(::stat((dir / "out").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);

    ::chmod((dir / "archive").c_str(), 0600);
    write_file_atomic(dir / "side", "y", mode_like(dir / "archive"));
    ASSERT_EQ(::stat((dir / "side").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // Never setuid, setgid or sticky, whatever the model has.
    ::chmod((dir / "archive").c_str(), 04755);
    EXPECT_EQ(mode_like(dir / "archive").mode, 0755u);
}

TEST(IoAtomicFileMode, ARegularFileUnderTheFinalNameIsReplacedNotWrittenThrough)
{
    test::TempDir dir;
    const Victim victim(dir);
    fs::create_directory(dir / "d");
    fs::create_symlink(victim.path, dir / "d" / "x.pvediff-manifest");
    write_file_atomic(dir / "d" / "x.pvediff-manifest", "new");
    EXPECT_FALSE(fs::is_symlink(dir / "d" / "x.pvediff-manifest"));
    EXPECT_TRUE(victim.untouched());
}

}  // namespace
}  // namespace pvediff::io
