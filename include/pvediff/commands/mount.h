// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff mount DUMPDIR MOUNTPOINT`: a read-only FUSE view of a dump dir in which
// every backup, full or differential, is a plain archive under the name vzdump would
// have given it (mount_view.h), so that a PVE Directory storage pointed at it lists,
// shows and restores every day with the stock tools (docs/mount.md).
//
// Fulls and sidecars are passed through; differentials are rebuilt on read, one
// streaming decoder per open file (mount_stream.h). Notes and the protected marker
// written through the view land on the backup's own sidecars in the dump dir; every
// other change is refused with EROFS. The listing follows the dump dir as it changes
// (scanned again at most once a second).
#include <filesystem>
#include <string>

#include "pvediff/commands/mount_stream.h"
#include "pvediff/commands/report.h"

namespace pvediff::commands {

struct MountOptions {
    std::filesystem::path dump_dir;
    std::filesystem::path mount_point;
    bool foreground = false;          // else detach (daemon) once mounted
    bool allow_other = false;         // FUSE allow_other: users other than the mounting one
    std::filesystem::path spill_dir;  // decoder scratch files; default: the temp directory
    StreamLimits limits;
};

// Mounts and serves until unmounted (fusermount3 -u, umount) or SIGTERM/SIGINT/SIGHUP.
// Returns the process exit code; throws io::Error when the mount cannot be set up.
int mount(const MountOptions& options, const Report& report);

}  // namespace pvediff::commands
