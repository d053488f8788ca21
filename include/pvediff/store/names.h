// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The names of backups in a dump dir, as PVE and the older pve-patches add-on write
// them (docs/vzdump.md):
//   full          vzdump-(qemu|lxc|openvz)-VMID-YYYY_MM_DD-HH_MM_SS.(vma|tar)[.zst|.lzo|.gz|.bz2]
//                 or ...-HH_MM_SS.tgz
//   differential  <full file name>--differential-YYYY_MM_DD-HH_MM_SS.vcdiff[.zst|.lzo|.gz]
//   vzdump log    vzdump-qemu-101-2026_11_20-01_00_00.log (the archive name without
//                 extensions: it belongs to the full or differential of that time)
//   sidecars      <backup file>.notes, <backup file>.protected (PVE's),
//                 <backup file>.pvediff-manifest, <backup file>.pvediff-index (pvediff's)
// Parsing is strict: a name that does not match exactly is not a backup, so pvediff
// never touches a file it does not understand. VMIDs with leading zeros or beyond
// 32 bits are refused for the same reason (they would not format back to the name).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pvediff/io/codec.h"
#include "pvediff/store/backup_time.h"

namespace pvediff::store {

enum class GuestType { qemu, lxc, openvz };
enum class ArchiveFormat { vma, tar };
// io::Codec plus bzip2, which PVE lists (old archives) but pvediff cannot read.
enum class ArchiveCodec { none, zstd, lzo, gzip, bzip2 };

std::string_view guest_type_name(GuestType type);  // "qemu", "lxc", "openvz"
// "qemu 100": how reports and messages name a guest.
std::string guest_label(GuestType type, std::uint32_t vmid);
std::optional<GuestType> parse_guest_type(std::string_view name);
std::string_view archive_format_name(ArchiveFormat format);    // "vma", "tar"
std::string_view archive_codec_name(ArchiveCodec codec);       // "none", "zstd", "lzo", "gzip", "bzip2"
std::string_view archive_codec_extension(ArchiveCodec codec);  // "", ".zst", ".lzo", ".gz", ".bz2"
// nullopt for bzip2: pvediff has no bzip2 codec.
std::optional<io::Codec> to_io_codec(ArchiveCodec codec);
ArchiveCodec from_io_codec(io::Codec codec);

struct BackupName {
    GuestType type = GuestType::qemu;
    std::uint32_t vmid = 0;
    BackupTime time;
    ArchiveFormat format = ArchiveFormat::vma;
    ArchiveCodec codec = ArchiveCodec::none;
    bool tgz = false;  // spelled ".tgz" (format tar, codec gzip) rather than ".tar.gz"

    friend bool operator==(const BackupName&, const BackupName&) = default;
};

struct DifferentialName {
    BackupName full;
    std::string full_file;                    // the full's file name, exactly as in the differential's name
    BackupTime time;                          // the differential's own time (the replaced archive's)
    ArchiveCodec codec = ArchiveCodec::none;  // none, zstd, lzo or gzip

    friend bool operator==(const DifferentialName&, const DifferentialName&) = default;
};

inline constexpr std::string_view differential_infix = "--differential-";
inline constexpr std::string_view vcdiff_extension = ".vcdiff";

std::optional<BackupName> parse_backup_name(std::string_view file_name);
std::string format_backup_name(const BackupName& name);
// "vzdump-qemu-101-2026_11_20-01_00_00": what the .log is named after.
std::string backup_base_name(GuestType type, std::uint32_t vmid, const BackupTime& time);

std::optional<DifferentialName> parse_differential_name(std::string_view file_name);
std::string format_differential_name(const DifferentialName& name);
// The differential name for a new backup at `time` against `full`, compressed with `codec`
// (bzip2 is refused with io::Error).
DifferentialName make_differential_name(const BackupName& full, const BackupTime& time, ArchiveCodec codec);

// The standard name of the archive a differential stands for, e.g.
// "vzdump-qemu-101-2026_11_22-01_00_00.vma.zst": the full's type, VMID and format,
// the differential's time, and `codec` (by default the full's; .tgz fulls give .tar.gz).
BackupName restored_backup_name(const DifferentialName& diff);
BackupName restored_backup_name(const DifferentialName& diff, ArchiveCodec codec);

}  // namespace pvediff::store
