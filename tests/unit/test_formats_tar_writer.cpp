// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include "pvediff/formats/tar_writer.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/error.h"
#include "test_util.h"

namespace pvediff::formats {
namespace {

TEST(TarWriter, GnuTarExtractsWhatItWrites)
{
    test::TempDir dir;
    io::MemorySink sink;
    TarWriter tar(sink);
    const auto a = test::make_data(1000, 1);
    const auto b = test::make_data(70000, 2);
    const std::string long_dir(120, 'd');
    tar.add_directory("etc", 1700000000);
    tar.add_file("etc/a.conf", a, 1700000000);
    tar.add_directory(long_dir, 1700000000);
    tar.add_file(long_dir + "/b.bin", b, 1700000001, 0600);
    tar.add_file("empty", {}, 1700000000);
    tar.finish();
    ASSERT_EQ(sink.data().size() % 512, 0U);
    test::write_file(dir / "x.tar", sink.data());

    ASSERT_EQ(
        test::run("cd " + test::shell_quote(dir.path().string()) + " && mkdir out && tar -xf x.tar -C out"),
        0);
    EXPECT_EQ(test::read_file(dir / "out/etc/a.conf"), a);
    EXPECT_EQ(test::read_file(dir.path() / "out" / long_dir / "b.bin"), b);
    EXPECT_TRUE(test::read_file(dir / "out/empty").empty());
    EXPECT_EQ(test::run("tar -tvf " + test::shell_quote((dir / "x.tar").string()) +
                        " | grep -q -- '-rw------- root/root     70000 '"),
              0);
}

TEST(TarWriter, RejectsWrongDataLength)
{
    io::MemorySink sink;
    TarWriter tar(sink);
    const auto a = test::make_data(10, 1);
    tar.begin_file("f", 5, 0);
    EXPECT_THROW(tar.write_data(a), io::Error);
    tar.write_data(std::span(a).first(3));
    EXPECT_THROW(tar.end_file(), io::Error);
}

}  // namespace
}  // namespace pvediff::formats
