// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Random access into a full that pvediff wrote in frames (`backup -` of a VMA stream,
// `backup --nbd`): its frames as its cluster records give them, for the decoder
// (engine::DecodeOptions::framed). Only records that are of this full are used: their
// checksum and trailer checked, their content size and SHA-256 those of the full's
// manifest, their file size the full's. Anything else, and any full without records,
// is read forward as before: the frames are a shortcut, never a second truth.
#include <filesystem>
#include <optional>

#include "pvediff/engine/delta.h"

namespace pvediff::commands::detail {

std::optional<engine::FramedSource> framed_full(const std::filesystem::path& full);

}  // namespace pvediff::commands::detail
