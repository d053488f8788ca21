// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The options of `backup --nbd` as the command line gives them (cmd_backup.cpp).
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "pvediff/commands/backup_nbd.h"

namespace pvediff::cli {

// `disks`: the --nbd arguments, DEVICE=URI each; `bitmap_mode`: "new" or "reuse".
// Throws CLI::ValidationError for an argument without a device or a URI.
commands::NbdBackupOptions nbd_backup_options(const std::vector<std::string>& disks,
                                              const std::string& bitmap, const std::string& bitmap_mode);

}  // namespace pvediff::cli
