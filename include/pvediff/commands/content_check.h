// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// One pass over an archive's decompressed content that does everything `verify`
// wants of it: SHA-256 and size, and the structure check of its format (VMA as
// Proxmox's `vma verify` checks it plus coverage; tar through libarchive).
#include <filesystem>
#include <string>
#include <vector>

#include "pvediff/commands/pipeline.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"

namespace pvediff::commands {

struct ContentCheck {
    std::uint64_t size = 0;
    io::Digest sha256{};
    std::string format;      // "vma", "tar", "unknown"
    bool structure_ok = false;
    std::string summary;     // "vma: 1 device, 163840 clusters, complete" ...
    std::vector<std::string> problems;
    // For a differential: the full, as read while rebuilding.
    std::uint64_t base_size = 0;
    io::Digest base_sha256{};
};

// Checks a decompressed archive stream.
ContentCheck check_content(io::ByteSource& content);
// Decompresses and checks an archive file.
ContentCheck check_archive_file(const std::filesystem::path& path);
// Rebuilds a differential against its full in a stream and checks the result; the
// rebuilt archive is never written to disk.
ContentCheck check_differential(const std::filesystem::path& full, const std::filesystem::path& differential,
                                const std::filesystem::path& spill_dir, const KnownSizes& sizes = {});

}  // namespace pvediff::commands
