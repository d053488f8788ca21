// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff list`: the chains of a dump dir as rows (the cli prints them as a table
// or JSON).
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pvediff::commands {

struct ListRow {
    std::string guest;       // "qemu 101"
    std::string file;
    std::string kind;        // "full", "differential", "orphan"
    std::time_t time = 0;    // the backup's own time
    std::uint64_t size = 0;  // on disk
    double ratio = 0;        // differential size / its full's size
    bool has_manifest = false;
    bool is_protected = false;
    std::string note;        // "full missing", "no manifest", ...
};

std::vector<ListRow> list_dump_dir(const std::filesystem::path& dir, std::optional<std::uint32_t> vmid);

}  // namespace pvediff::commands
