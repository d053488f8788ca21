// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// VCDIFF (RFC 3284) primitives shared by pvediff's window writer and its window
// scanner: header constants, the variable-length integer, the default code table.
//
//   file    := magic "\xD6\xC3\xC4\x00", hdr_indicator, [secondary id], [code table],
//              [app header], window*
//   window  := win_indicator, [source segment length, position], delta length,
//              target length, delta_indicator, data length, inst length, addr length,
//              [adler32 (xdelta3's VCD_ADLER32 extension)], data, inst, addr
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pvediff::engine::vcdiff {

inline constexpr std::array<std::uint8_t, 4> magic = {0xD6, 0xC3, 0xC4, 0x00};

// hdr_indicator bits
inline constexpr std::uint8_t hdr_secondary = 0x01;
inline constexpr std::uint8_t hdr_codetable = 0x02;
inline constexpr std::uint8_t hdr_appheader = 0x04;  // xdelta3 extension
// win_indicator bits
inline constexpr std::uint8_t win_source = 0x01;
inline constexpr std::uint8_t win_target = 0x02;
inline constexpr std::uint8_t win_adler32 = 0x04;  // xdelta3 extension
// delta_indicator bits: sections compressed with the secondary compressor
inline constexpr std::uint8_t del_datacomp = 0x01;
inline constexpr std::uint8_t del_instcomp = 0x02;
inline constexpr std::uint8_t del_addrcomp = 0x04;

// What stock xdelta3 3.0.11 accepts: target windows of at most 16 MiB, and source
// segment + target window length within 32 bits.
inline constexpr std::uint64_t max_target_window = std::uint64_t{1} << 24;
inline constexpr std::uint64_t max_segment_plus_window = (std::uint64_t{1} << 32) - 1;

enum class Inst : std::uint8_t { noop = 0, add = 1, run = 2, copy = 3 };

struct CodeEntry {
    Inst type1 = Inst::noop;
    std::uint8_t size1 = 0;
    std::uint8_t mode1 = 0;
    Inst type2 = Inst::noop;
    std::uint8_t size2 = 0;
    std::uint8_t mode2 = 0;
};
// The default code table of RFC 3284, section 5.6 (near cache 4, same cache 3).
const std::array<CodeEntry, 256>& default_code_table();
inline constexpr int near_cache_size = 4;
inline constexpr int same_cache_size = 3;
// Address modes: 0 = VCD_SELF, 1 = VCD_HERE, 2..5 = near, 6..8 = same.
inline constexpr std::uint8_t mode_self = 0;
inline constexpr std::uint8_t mode_here = 1;

// Base-128 big-endian integer, high bit = continuation (RFC 3284, section 2).
void put_varint(std::vector<std::uint8_t>& out, std::uint64_t value);
std::size_t varint_size(std::uint64_t value);
// Reads one varint at data[pos], advancing pos; nullopt if truncated or > 64 bits.
std::optional<std::uint64_t> get_varint(std::span<const std::uint8_t> data, std::size_t& pos);

// The address cache of RFC 3284 section 5.1, shared by encoder and decoder logic.
class AddressCache {
public:
    void reset();
    // Decodes an address of `mode` read from `addr_section` at `pos`. `here` is the
    // current position in the combined source+target address space. nullopt = bad input.
    std::optional<std::uint64_t> decode(std::uint8_t mode, std::uint64_t here,
                                        std::span<const std::uint8_t> addr_section, std::size_t& pos);
    void update(std::uint64_t addr);

private:
    std::array<std::uint64_t, near_cache_size> near_{};
    std::array<std::uint64_t, same_cache_size * std::size_t{256}> same_{};
    int next_slot_ = 0;
};

}  // namespace pvediff::engine::vcdiff
