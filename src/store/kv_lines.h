// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The `key: value` line syntax shared by /etc/pvediff.conf and the manifest sidecars
// (the syntax of /etc/vzdump.conf): one pair per line, `#` starts a comment line,
// blank lines are ignored, spaces around key and value are trimmed.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvediff::store::detail {

struct KvLine {
    std::size_t line = 0;  // 1-based
    std::string key;
    std::string value;
};

// Throws io::Error "'<origin>': line N: expected 'key: value'" on a malformed line
// (no colon, empty key, key with spaces, control characters).
std::vector<KvLine> parse_kv_lines(std::string_view text, const std::string& origin);

// "'<origin>': line N: <message>"
[[noreturn]] void throw_line_error(const std::string& origin, std::size_t line, const std::string& message);

// Reads a small text file whole, refusing more than `max_size` bytes (these files
// are a few hundred bytes; a huge one is not what it claims to be).
std::string read_small_file(const std::string& path, std::size_t max_size);
// A small sidecar inside a dump dir, opened the one io::DirHandle way (never through a
// link, regular files only); nullopt when it does not exist.
std::optional<std::string> read_sidecar_if_exists(const std::filesystem::path& path, std::size_t max_size);

}  // namespace pvediff::store::detail
