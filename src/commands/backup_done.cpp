// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/backup_done.h"

#include "pvediff/store/dump_dir.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

std::optional<fs::path> replaced_by(const fs::path& archive_arg)
{
    const fs::path archive = fs::absolute(archive_arg);
    std::error_code ec;
    if (fs::exists(fs::symlink_status(archive, ec))) {
        return std::nullopt;
    }
    const auto name = store::parse_backup_name(archive.filename().string());
    if (!name || !fs::is_directory(archive.parent_path(), ec)) {
        return std::nullopt;
    }
    const store::DumpDir dir = store::scan_dump_dir(archive.parent_path());
    const store::GuestBackups* guest = dir.find({name->type, name->vmid});
    if (!guest) {
        return std::nullopt;
    }
    for (const auto& chain : guest->chains) {
        for (const auto& diff : chain.differentials) {
            const store::BackupName stands_for = store::restored_backup_name(diff.name);
            if (stands_for.time == name->time && stands_for.format == name->format) {
                return dir.path / diff.file;
            }
        }
    }
    return std::nullopt;
}

}  // namespace pvediff::commands
