// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Helpers shared by the unit tests: a temporary directory kept on failure, files,
// deterministic pseudo-random data, and running the real command-line tools.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"

namespace pvediff::test {

// A fresh directory under $TMPDIR (or /tmp); removed when the test passed, kept
// (and its path printed) when it failed, so the data can be inspected.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

std::vector<std::uint8_t> read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& data);
// Compressible but not trivial data (text-like runs mixed with noise), reproducible from seed.
std::vector<std::uint8_t> make_data(std::size_t size, std::uint32_t seed);
// Runs `bash -c command`; returns its exit status (throws if it could not run).
int run(const std::string& command);
// Single-quotes a string for the shell.
std::string shell_quote(const std::string& s);
std::string sha256_hex_of_file(const std::filesystem::path& path);
// The built pvediff binary.
std::string pvediff_binary();
io::Digest sha256_of(std::span<const std::uint8_t> data);

// The io::Error message of `f`, or "" when it did not throw.
template <typename F>
std::string error_of(F f)
{
    try {
        f();
    } catch (const io::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace pvediff::test
