// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_options.h"

namespace pvediff::cli {

commands::NbdBackupOptions nbd_backup_options(const std::vector<std::string>& disks,
                                              const std::string& bitmap, const std::string& bitmap_mode)
{
    commands::NbdBackupOptions o;
    for (const auto& arg : disks) {
        const auto eq = arg.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
            throw CLI::ValidationError("--nbd", "'" + arg + "' is not DEVICE=URI");
        }
        o.disks.push_back({arg.substr(0, eq), arg.substr(eq + 1)});
    }
    if (!bitmap.empty()) {
        o.bitmap = bitmap;
    }
    o.bitmap_mode = bitmap_mode == "new" ? commands::BitmapMode::fresh : commands::BitmapMode::reuse;
    return o;
}

}  // namespace pvediff::cli
