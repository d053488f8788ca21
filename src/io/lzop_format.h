// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The lzop container format, as lzop 1.04 reads and writes it. All integers are
// big-endian.
//
//   file   := header block* end
//   header := magic[9] = 89 4C 5A 4F 00 0D 0A 1A 0A
//             version:u16  lib_version:u16
//             [version_needed:u16]                 if version >= 0x0940
//             method:u8  [level:u8]                if version >= 0x0940
//             flags:u32  [filter:u32]              if flags & F_H_FILTER
//             mode:u32  mtime_low:u32  [mtime_high:u32]   if version >= 0x0940
//             name_len:u8  name[name_len]
//             checksum:u32    adler32 (or crc32 if F_H_CRC32) of version..name
//             [extra_len:u32 extra[extra_len] extra_checksum:u32]  if F_H_EXTRA_FIELD
//   block  := uncompressed_len:u32 (!= 0)  compressed_len:u32
//             [adler32 of uncompressed:u32]  if F_ADLER32_D
//             [crc32 of uncompressed:u32]    if F_CRC32_D
//             [adler32 of compressed:u32]    if F_ADLER32_C and compressed < uncompressed
//             [crc32 of compressed:u32]      if F_CRC32_C and compressed < uncompressed
//             data[compressed_len]           stored raw if compressed == uncompressed
//   end    := 00 00 00 00
//
// Several files may follow one another (lzop decompresses them all, `cat a.lzo
// b.lzo` makes one). adler32 starts at 1, crc32 at 0, as in zlib.
#include <array>
#include <cstdint>

namespace pvediff::io::lzop {

inline constexpr std::array<std::uint8_t, 9> magic = {0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A};

// What lzop 1.04 writes; versions needed above it are refused, as lzop does.
inline constexpr std::uint16_t version = 0x1040;
inline constexpr std::uint16_t version_needed = 0x0940;
// Below 0x0940 the header lacks version_needed, level and mtime_high.
inline constexpr std::uint16_t version_with_level = 0x0940;

enum Method : std::uint8_t {
    M_LZO1X_1 = 1,
    M_LZO1X_1_15 = 2,
    M_LZO1X_999 = 3,
};

enum Flag : std::uint32_t {
    F_ADLER32_D = 0x00000001,
    F_ADLER32_C = 0x00000002,
    F_STDIN = 0x00000004,
    F_STDOUT = 0x00000008,
    F_NAME_DEFAULT = 0x00000010,
    F_DOSISH = 0x00000020,
    F_H_EXTRA_FIELD = 0x00000040,
    F_H_GMTDIFF = 0x00000080,
    F_CRC32_D = 0x00000100,
    F_CRC32_C = 0x00000200,
    F_MULTIPART = 0x00000400,
    F_H_FILTER = 0x00000800,
    F_H_CRC32 = 0x00001000,
    F_H_PATH = 0x00002000,
};
inline constexpr std::uint32_t F_MASK = 0x00003FFF;
inline constexpr std::uint32_t F_OS_MASK = 0xFF000000;
inline constexpr std::uint32_t F_CS_MASK = 0x00F00000;
inline constexpr std::uint32_t F_RESERVED = ~(F_MASK | F_OS_MASK | F_CS_MASK);
inline constexpr std::uint32_t F_OS_UNIX = 0x03000000;

// lzop's default block size, and the largest it accepts on reading.
inline constexpr std::uint32_t block_size = 256 * 1024;
inline constexpr std::uint32_t max_block_size = 64 * 1024 * 1024;

// LZO1X output bound for incompressible input (lzo's documented worst case).
constexpr std::size_t max_compressed_size(std::size_t n)
{
    return n + n / 16 + 64 + 3;
}

}  // namespace pvediff::io::lzop
