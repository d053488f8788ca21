// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Shared by the fuzz targets. A target feeds its input to one parser and accepts
// exactly one way of refusing it: io::Error (a message naming the input). Anything
// else — a sanitizer report, another exception type escaping, a broken invariant
// checked with FUZZ_CHECK — is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string_view>
#include <vector>

#include "pvediff/io/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace pvediff::fuzz {

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line)
{
    std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, expr);
    std::abort();
}

#define FUZZ_CHECK(expr) ((expr) ? void(0) : ::pvediff::fuzz::check_failed(#expr, __FILE__, __LINE__))

inline std::span<const std::uint8_t> bytes(const std::uint8_t* data, std::size_t size)
{
    return {data, size};
}

inline std::string_view text(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

inline std::vector<std::uint8_t> copy(const std::uint8_t* data, std::size_t size)
{
    return {data, data + size};
}

// Runs f; an io::Error is the parser refusing the input, which is fine.
template <typename F>
bool refused(F&& f)
{
    try {
        f();
        return false;
    } catch (const io::Error&) {
        return true;
    }
}

// A directory of this process's own, removed when it exits: for parsers that read a
// file by name (each input is written there first).
class WorkDir {
public:
    WorkDir()
    {
        std::string name = (std::filesystem::temp_directory_path() / "pvediff-fuzz-XXXXXX").string();
        if (::mkdtemp(name.data()) == nullptr) {
            std::abort();
        }
        path_ = name;
    }
    WorkDir(const WorkDir&) = delete;
    WorkDir& operator=(const WorkDir&) = delete;
    ~WorkDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline const std::filesystem::path& work_dir()
{
    static const WorkDir dir;
    return dir.path();
}

// Writes `data` to `path` (replacing it).
inline void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> data)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

}  // namespace pvediff::fuzz
