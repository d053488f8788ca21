// SPDX-License-Identifier: GPL-2.0-or-later
#include "test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>

namespace pvediff::test {

io::Digest sha256_of(std::span<const std::uint8_t> data)
{
    io::Sha256 sha;
    sha.update(data);
    return sha.finish();
}

TempDir::TempDir()
{
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/pvediff-test-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = templ;
}

TempDir::~TempDir()
{
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (info != nullptr && info->result()->Failed()) {
        std::cerr << "test data kept in " << path_ << "\n";
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& data)
{
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

std::vector<std::uint8_t> make_data(std::size_t size, std::uint32_t seed)
{
    static constexpr std::string_view words[] = {
        "proxmox ", "backup ", "cluster ",   "extent ",  "vzdump ", "qemu ",  "lxc ",     "\n",
        "zstd ",    "delta ",  "0123456789", "storage ", "node ",   "guest ", "archive ", "differential "};
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> out;
    out.reserve(size);
    while (out.size() < size) {
        if (rng() % 8 == 0) {
            const std::size_t n = 16 + rng() % 64;
            for (std::size_t i = 0; i < n && out.size() < size; ++i) {
                out.push_back(static_cast<std::uint8_t>(rng()));
            }
        } else {
            const auto w = words[rng() % std::size(words)];
            for (const char c : w) {
                if (out.size() < size) {
                    out.push_back(static_cast<std::uint8_t>(c));
                }
            }
        }
    }
    return out;
}

int run(const std::string& command)
{
    const int status = std::system(("bash -c " + shell_quote(command)).c_str());
    if (status == -1) {
        throw std::runtime_error("cannot run: " + command);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string shell_quote(const std::string& s)
{
    std::string out = "'";
    for (const char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::string sha256_hex_of_file(const std::filesystem::path& path)
{
    const std::string cmd = "sha256sum " + shell_quote(path.string());
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        throw std::runtime_error("cannot run sha256sum");
    }
    char buf[65] = {};
    const std::size_t n = std::fread(buf, 1, 64, p);
    ::pclose(p);
    return std::string(buf, n);
}

std::string pvediff_binary()
{
    return PVEDIFF_BINARY;
}

}  // namespace pvediff::test
