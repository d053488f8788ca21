// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A full that pvediff wrote in frames (`backup -` of a VMA stream, `backup --nbd`, a
// vzdump VMA kept with frame-fulls) and its cluster records: whether the records beside
// it are of this full, asked by the restores' random access and by `backup --nbd`'s
// records route alike, and the full's frames for the decoder
// (engine::DecodeOptions::framed). Records count as the full's only when they are
// there, not behind a symbolic link, sound (checksum, trailer), of the content the
// full's manifest records (size and SHA-256) and of the full's file size. Anything else
// is read forward as before: the frames are a shortcut, never a second truth.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "pvediff/engine/delta.h"
#include "pvediff/formats/vma_cluster_records.h"

namespace pvediff::commands::detail {

// Why the cluster records beside `full` are not of it; empty when they are. `read`,
// when given, reads from the records what it needs before the rest is read and checked
// (it may read all of them); what it gathered counts only with an empty answer.
std::string full_records_refusal(const std::filesystem::path& full,
                                 const std::function<void(formats::FullRecordsReader&)>& read = {});

// The full's frames, when its records are of it.
std::optional<engine::FramedSource> framed_full(const std::filesystem::path& full);

}  // namespace pvediff::commands::detail
