// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/pve_storage.h"

#include <unistd.h>

#include <array>
#include <optional>

#include "kv_lines.h"

namespace pvediff::store {

namespace {

constexpr std::string_view blanks = " \t\r";

std::string_view trim(std::string_view s)
{
    const auto b = s.find_first_not_of(blanks);
    if (b == std::string_view::npos) {
        return {};
    }
    return s.substr(b, s.find_last_not_of(blanks) - b + 1);
}

// Comma- (or space-) separated lists: content, nodes, content-dirs.
std::vector<std::string_view> split_list(std::string_view s)
{
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const auto end = s.find_first_of(", ;", start);
        const auto item =
            trim(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (!item.empty()) {
            out.push_back(item);
        }
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

bool has_item(std::string_view list, std::string_view item)
{
    for (const auto i : split_list(list)) {
        if (i == item) {
            return true;
        }
    }
    return false;
}

// Types whose volumes are files under `path` (PVE's path-based plugins).
bool is_directory_type(std::string_view type)
{
    constexpr std::array<std::string_view, 6> types{"dir", "nfs", "cifs", "cephfs", "glusterfs", "btrfs"};
    for (const auto t : types) {
        if (t == type) {
            return true;
        }
    }
    return false;
}

bool is_mounted_type(std::string_view type)
{
    return type == "nfs" || type == "cifs" || type == "cephfs" || type == "glusterfs";
}

struct Section {
    std::string type;
    std::string id;
    std::optional<std::string> path;
    std::string content;
    std::string nodes;
    std::string content_dirs;
    bool disabled = false;
};

// A storage id as PVE allows it (letters, digits, '-', '_', '.'), so a path built
// from it (/mnt/pve/<id>) stays one component.
bool valid_id(std::string_view id)
{
    if (id.empty() || id.size() > 255 || id == "." || id == "..") {
        return false;
    }
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// A relative path below the storage, without "..": `content-dirs backup=<sub>`.
bool valid_subdir(std::string_view sub)
{
    if (sub.empty() || sub.front() == '/') {
        return false;
    }
    for (const auto& part : std::filesystem::path(sub)) {
        if (part == "..") {
            return false;
        }
    }
    return true;
}

void finish(const std::optional<Section>& s, std::string_view node, std::vector<BackupStorage>& out)
{
    if (!s || s->disabled || !is_directory_type(s->type) || !has_item(s->content, "backup")) {
        return;
    }
    if (!s->nodes.empty() && !has_item(s->nodes, node)) {
        return;
    }
    std::filesystem::path base;
    if (s->path && !s->path->empty() && s->path->front() == '/') {
        base = *s->path;
    } else if (!s->path && is_mounted_type(s->type)) {
        base = std::filesystem::path("/mnt/pve") / s->id;
    } else {
        return;  // a dir storage needs an absolute path
    }
    std::string sub = "dump";
    for (const auto item : split_list(s->content_dirs)) {
        if (item.starts_with("backup=") && valid_subdir(item.substr(7))) {
            sub = item.substr(7);
        }
    }
    out.push_back({s->id, s->type, (base / sub).lexically_normal()});
}

bool has_control_characters(std::string_view line)
{
    for (const char c : line) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\r') {
            return true;
        }
    }
    return false;
}

}  // namespace

std::vector<BackupStorage> parse_backup_storages(std::string_view text, std::string_view node)
{
    std::vector<BackupStorage> out;
    std::optional<Section> section;
    std::size_t sections = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const std::string_view line =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        const std::string_view content = trim(line);
        if (content.empty()) {
            finish(section, node, out);  // a blank line ends a section
            section.reset();
            continue;
        }
        if (content.front() == '#' || has_control_characters(line)) {
            continue;
        }
        if (line.front() != ' ' && line.front() != '\t') {
            // `<type>: <id>` starts a section
            finish(section, node, out);
            section.reset();
            const auto colon = content.find(':');
            if (colon == std::string_view::npos || ++sections > pve_storage_max_sections) {
                continue;
            }
            const auto type = trim(content.substr(0, colon));
            const auto id = trim(content.substr(colon + 1));
            if (!type.empty() && type.find_first_of(blanks) == std::string_view::npos && valid_id(id)) {
                section = Section{std::string(type), std::string(id), {}, {}, {}, {}, false};
            }
            continue;
        }
        if (!section) {
            continue;
        }
        const auto space = content.find_first_of(blanks);
        const auto key = content.substr(0, space);
        const auto value =
            space == std::string_view::npos ? std::string_view("1") : trim(content.substr(space));
        if (key == "path") {
            section->path = std::string(value);
        } else if (key == "content") {
            section->content = value;
        } else if (key == "nodes") {
            section->nodes = value;
        } else if (key == "content-dirs") {
            section->content_dirs = value;
        } else if (key == "disable") {
            section->disabled = value != "0";
        }
    }
    finish(section, node, out);
    return out;
}

std::vector<BackupStorage> load_backup_storages(const std::filesystem::path& path, std::string_view node)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) {
        return {};
    }
    return parse_backup_storages(detail::read_small_file(path.string(), pve_storage_cfg_max_size), node);
}

std::string local_node_name()
{
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) {
        return {};
    }
    std::string name(buf.data());
    return name.substr(0, name.find('.'));
}

}  // namespace pvediff::store
