// SPDX-License-Identifier: GPL-2.0-or-later
#include "kv_lines.h"

#include <fcntl.h>

#include <cerrno>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"

namespace pvediff::store::detail {
namespace {

std::string_view trim(std::string_view s)
{
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) {
        return {};
    }
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

bool has_control_chars(std::string_view s)
{
    for (unsigned char c : s) {
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return true;
        }
    }
    return false;
}

}  // namespace

void throw_line_error(const std::string& origin, std::size_t line, const std::string& message)
{
    throw io::file_error(origin, "line {}: {}", line, message);
}

std::vector<KvLine> parse_kv_lines(std::string_view text, const std::string& origin)
{
    std::vector<KvLine> out;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        std::string_view raw = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        if (has_control_chars(line)) {
            throw_line_error(origin, line_no, "control character in line");
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            throw_line_error(origin, line_no, "expected 'key: value'");
        }
        const std::string_view key = trim(line.substr(0, colon));
        if (key.empty() || key.find_first_of(" \t") != std::string_view::npos) {
            throw_line_error(origin, line_no, "expected 'key: value'");
        }
        out.push_back(KvLine{line_no, std::string(key), std::string(trim(line.substr(colon + 1)))});
    }
    return out;
}

namespace {

std::string read_small_fd(int fd, const std::string& path, std::size_t max_size)
{
    std::string out;
    std::uint8_t buf[4096];
    for (;;) {
        const std::size_t n = io::read_some(fd, buf, path);
        if (n == 0) {
            break;
        }
        if (out.size() + n > max_size) {
            throw io::file_error(path, "too large (over {} bytes)", max_size);
        }
        out.append(reinterpret_cast<const char*>(buf), n);
    }
    return out;
}

}  // namespace

std::string read_small_file(const std::string& path, std::size_t max_size)
{
    const io::Fd fd = io::open_fd(path, O_RDONLY);
    return read_small_fd(fd.get(), path, max_size);
}

std::optional<std::string> read_sidecar_if_exists(const std::filesystem::path& path, std::size_t max_size)
{
    const auto fd = io::DirHandle::of(path).open_regular_if_exists(path.filename().string());
    if (!fd) {
        return std::nullopt;
    }
    return read_small_fd(fd->get(), path.string(), max_size);
}

}  // namespace pvediff::store::detail
