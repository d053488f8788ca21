// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// pvediff's one error type. Messages are lowercase, name the file they concern and,
// for parse errors, the byte offset: "'/dump/x.vma.zst': offset 4096: bad extent magic".
// Library code throws; only the command-line layer prints. Who else may catch, and
// why: docs/architecture.md, "Errors".
#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace pvediff::io {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "'<path>': <message>", the message formatted by fmt: the form of every error about
// one file. `throw io::file_error(path, "not a regular file");`
template <typename... Args>
[[nodiscard]] Error file_error(std::string_view path, fmt::format_string<Args...> format, Args&&... args)
{
    return Error(fmt::format("'{}': {}", path, fmt::format(format, std::forward<Args>(args)...)));
}

// "cannot <what> '<path>': <strerror(err)>"
[[noreturn]] void throw_errno(const std::string& what, const std::string& path, int err);
// "'<path>': offset <offset>: <message>"
[[noreturn]] void throw_parse_error(const std::string& path, std::uint64_t offset,
                                    const std::string& message);

}  // namespace pvediff::io
