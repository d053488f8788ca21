// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// An append-only scratch file for bytes the engine must keep until later but not in
// memory (changed regions waiting for the full's old bytes, those old bytes). Created
// on first use in the given directory without a name (O_TMPFILE; where the file system
// cannot, with a name unlinked at once), so nothing is left behind whatever happens
// to the process. A second directory, when given, is where it goes if the first
// cannot take it (a read-only dump dir, one this user may only read).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "pvediff/io/fd.h"

namespace pvediff::engine::detail {

class SpillFile {
public:
    explicit SpillFile(std::filesystem::path dir, std::filesystem::path fallback_dir = {})
        : dir_(std::move(dir)), fallback_dir_(std::move(fallback_dir))
    {
    }

    // Returns the offset of the bytes in the file.
    std::uint64_t append(std::span<const std::uint8_t> bytes);
    // Reads back bytes appended before.
    void read(std::uint64_t offset, std::span<std::uint8_t> out) const;
    // Gives back the disk space of bytes appended before that are no longer needed
    // (a hole is punched; offsets of the other bytes stay valid). Best effort: where
    // the file system cannot punch holes, the space comes back at clear().
    void release(std::uint64_t offset, std::uint64_t length);
    // Forgets everything appended and gives the space back.
    void clear();
    [[nodiscard]] std::uint64_t size() const { return end_; }
    // The disk space the file takes now (its allocated blocks), 0 before first use.
    [[nodiscard]] std::uint64_t allocated_bytes() const;

private:
    // Makes the file in `dir`; false with errno set when it cannot.
    bool create_in(const std::filesystem::path& dir);

    std::filesystem::path dir_;
    std::filesystem::path fallback_dir_;
    std::string name_;
    io::Fd fd_;
    std::uint64_t end_ = 0;
};

}  // namespace pvediff::engine::detail
