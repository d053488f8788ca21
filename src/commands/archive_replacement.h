// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The file steps of replacing an archive by its differential, taken both by a backup
// (backup.cpp) and by the finishing of a backup that was interrupted
// (interrupted_runs.cpp): the full is checked against its manifest and given one, the
// notes go with the differential, and the archive goes with its sidecars. Kept in one
// place so that both finish a replacement alike.
#include <filesystem>
#include <string>

#include "pvediff/commands/pipeline.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands::detail {

// The manifest of a full named `file` (no directory) holding `content`.
store::Manifest full_manifest(const std::string& file, const ContentInfo& content);

// The manifest of a differential named `file` holding `content`, made against the
// full named `full_name` holding `full` with `engine`; the encoder's counts are the
// caller's to add.
store::Manifest differential_manifest(const std::string& file, const ContentInfo& content,
                                      const std::string& full_name, const ContentInfo& full,
                                      const std::string& engine);

// Throws unless the content of the full `base` is what its manifest (if it has one)
// says, or the differential would be made against something other than the full
// that restore will find.
void check_base_identity(const std::filesystem::path& base, const ContentInfo& seen);

// A full from before pvediff (or the add-on's) gets its manifest once its content is
// known: writes one for `base` unless it has one.
void ensure_full_manifest(const std::filesystem::path& base, const ContentInfo& content);

// Copies `<from>.notes` to `<to>.notes` (written atomically), if there is one.
void carry_notes(const std::filesystem::path& from, const std::filesystem::path& to);

// Removes a replaced archive: first its sidecars (manifest, index, notes), then the
// archive itself. Does not sync the directory.
void remove_archive_and_sidecars(const std::filesystem::path& archive);

}  // namespace pvediff::commands::detail
