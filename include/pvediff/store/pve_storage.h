// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Where PVE keeps backups in directories, from /etc/pve/storage.cfg, so that an
// installed pvediff works without `dumpdir` in its config.
//
// storage.cfg is PVE's "section config": a section starts with a line `<type>: <id>`
// at the start of the line; its properties follow on indented lines `<key> <value>`
// (a key alone is a flag, value 1); a blank line ends the section; `#` lines are
// comments. Of it pvediff needs only this: storages of a type that keeps files in a
// directory (dir, nfs, cifs, cephfs, glusterfs, btrfs), not `disable`d, whose
// `content` list holds `backup`, and whose `nodes` (when given) include this node.
// Their backups are in `<path>/dump` (`content-dirs backup=<sub>` moves them to
// `<path>/<sub>`). For nfs, cifs, cephfs and glusterfs `path` is the mount point
// PVE mounts the share on (/mnt/pve/<id> unless set).
//
// The file is read by a bounded reader and parsed leniently (PVE's own parser owns
// its syntax): a line that is not understood is skipped, so a newer PVE's keys do
// not stop backups; only sections that say all of the above are used.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace pvediff::store {

inline constexpr const char* pve_storage_cfg_path = "/etc/pve/storage.cfg";
inline constexpr const char* pve_default_dump_dir = "/var/lib/vz/dump";
inline constexpr std::size_t pve_storage_cfg_max_size = std::size_t{1} << 20;
inline constexpr std::size_t pve_storage_max_sections = 4096;

struct BackupStorage {
    std::string id;    // "local", "nas"
    std::string type;  // "dir", "nfs", ...
    std::filesystem::path dump_dir;
};

// The backup directories `text` describes, in file order, for node `node` (its
// short host name).
std::vector<BackupStorage> parse_backup_storages(std::string_view text, std::string_view node);

// From the file at `path`: empty when it does not exist (not a PVE node); io::Error
// when it cannot be read or is larger than pve_storage_cfg_max_size.
std::vector<BackupStorage> load_backup_storages(const std::filesystem::path& path, std::string_view node);

// This host's short name (up to the first dot), as PVE names nodes.
std::string local_node_name();

}  // namespace pvediff::store
