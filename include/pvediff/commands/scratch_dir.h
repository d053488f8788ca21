// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Where a command's scratch files go: what does not fit in memory (an index's records
// being sorted, the encoder's set-aside bytes and ranges of the full, the proof's
// pieces, a decoder's set-aside source, a delta read from standard input). They are
// opened without a name (O_TMPFILE; else named with O_EXCL and unlinked at once), so
// they vanish with the process and never take a name that exists.
//
// By default beside the full, in the dump dir: it has room for archives, and scratch
// is a fraction of one. The `tmpdir` setting (or --tmpdir) names another directory:
// local disk for a dump dir on NFS, where scratch would cross the network twice.
#include <filesystem>
#include <string>

namespace pvediff::commands {

// `tmpdir` when set, else `beside_dir`. A set `tmpdir` must be a directory this
// process may write: checked here, so that a missing one (a disk not mounted) fails
// the run before any work, naming it. Throws io::Error.
std::filesystem::path scratch_dir(const std::string& tmpdir, const std::filesystem::path& beside_dir);

}  // namespace pvediff::commands
