// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The checks of one VMA extent header that the framed writer and the records reader
// share: magic, the blockinfos' devices and clusters against the VMA header, and the
// block count against the masks. What passes gives the extent's exact length.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pvediff/formats/vma.h"

namespace pvediff::formats {

class ExtentSlots {
public:
    // The devices' sizes from the VMA header, for the range checks.
    explicit ExtentSlots(const VmaHeader& header);

    // The non-zero blockinfos of `extent_header` (512 bytes) in slot order, after the
    // checks; throws a parse error naming `name` at `offset` (the extent's) otherwise.
    void parse(std::span<const std::uint8_t> extent_header, const std::string& name, std::uint64_t offset);
    [[nodiscard]] const std::vector<std::uint64_t>& infos() const { return infos_; }
    // Header and stored blocks.
    [[nodiscard]] std::size_t length() const { return length_; }

private:
    std::array<std::uint64_t, vma::max_devices + 1> device_size_{};  // 0: no such device
    std::vector<std::uint64_t> infos_;
    std::size_t length_ = 0;
};

inline std::uint16_t info_mask(std::uint64_t info)
{
    return static_cast<std::uint16_t>(info >> 48);
}
inline std::uint8_t info_dev(std::uint64_t info)
{
    return static_cast<std::uint8_t>(info >> 32);
}
inline std::uint32_t info_cluster(std::uint64_t info)
{
    return static_cast<std::uint32_t>(info);
}

}  // namespace pvediff::formats
