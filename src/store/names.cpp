// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/names.h"

#include <array>
#include <utility>

#include "pvediff/io/error.h"

namespace pvediff::store {
namespace {

constexpr std::string_view prefix = "vzdump-";
constexpr std::size_t time_length = 19;  // YYYY_MM_DD-HH_MM_SS

// Strictly decimal, no leading zero, fits 32 bits.
std::optional<std::uint32_t> parse_vmid(std::string_view text)
{
    if (text.empty() || text.size() > 10 || text[0] == '0') {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value > 0xffffffffU) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(value);
}

struct Head {
    GuestType type;
    std::uint32_t vmid;
    BackupTime time;
    std::string_view rest;  // what follows the time
};

// "vzdump-TYPE-VMID-TIME" at the start of `name`.
std::optional<Head> parse_head(std::string_view name)
{
    if (!name.starts_with(prefix)) {
        return std::nullopt;
    }
    name.remove_prefix(prefix.size());
    const auto dash = name.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    const auto type = parse_guest_type(name.substr(0, dash));
    if (!type) {
        return std::nullopt;
    }
    name.remove_prefix(dash + 1);
    const auto dash2 = name.find('-');
    if (dash2 == std::string_view::npos) {
        return std::nullopt;
    }
    const auto vmid = parse_vmid(name.substr(0, dash2));
    if (!vmid) {
        return std::nullopt;
    }
    name.remove_prefix(dash2 + 1);
    if (name.size() < time_length) {
        return std::nullopt;
    }
    const auto time = parse_backup_time(name.substr(0, time_length));
    if (!time) {
        return std::nullopt;
    }
    return Head{*type, *vmid, *time, name.substr(time_length)};
}

struct Extension {
    std::string_view text;
    ArchiveFormat format;
    ArchiveCodec codec;
    bool tgz;
};

constexpr std::array<Extension, 11> full_extensions = {{
    {".vma", ArchiveFormat::vma, ArchiveCodec::none, false},
    {".vma.zst", ArchiveFormat::vma, ArchiveCodec::zstd, false},
    {".vma.lzo", ArchiveFormat::vma, ArchiveCodec::lzo, false},
    {".vma.gz", ArchiveFormat::vma, ArchiveCodec::gzip, false},
    {".vma.bz2", ArchiveFormat::vma, ArchiveCodec::bzip2, false},
    {".tar", ArchiveFormat::tar, ArchiveCodec::none, false},
    {".tar.zst", ArchiveFormat::tar, ArchiveCodec::zstd, false},
    {".tar.lzo", ArchiveFormat::tar, ArchiveCodec::lzo, false},
    {".tar.gz", ArchiveFormat::tar, ArchiveCodec::gzip, false},
    {".tar.bz2", ArchiveFormat::tar, ArchiveCodec::bzip2, false},
    {".tgz", ArchiveFormat::tar, ArchiveCodec::gzip, true},
}};

}  // namespace

std::string_view guest_type_name(GuestType type)
{
    switch (type) {
        case GuestType::qemu:
            return "qemu";
        case GuestType::lxc:
            return "lxc";
        case GuestType::openvz:
            return "openvz";
    }
    return "?";
}

std::string guest_label(GuestType type, std::uint32_t vmid)
{
    return fmt::format("{} {}", guest_type_name(type), vmid);
}

std::optional<GuestType> parse_guest_type(std::string_view name)
{
    if (name == "qemu") {
        return GuestType::qemu;
    }
    if (name == "lxc") {
        return GuestType::lxc;
    }
    if (name == "openvz") {
        return GuestType::openvz;
    }
    return std::nullopt;
}

std::string_view archive_format_name(ArchiveFormat format)
{
    return format == ArchiveFormat::vma ? "vma" : "tar";
}

std::string_view archive_codec_name(ArchiveCodec codec)
{
    switch (codec) {
        case ArchiveCodec::none:
            return "none";
        case ArchiveCodec::zstd:
            return "zstd";
        case ArchiveCodec::lzo:
            return "lzo";
        case ArchiveCodec::gzip:
            return "gzip";
        case ArchiveCodec::bzip2:
            return "bzip2";
    }
    return "?";
}

std::string_view archive_codec_extension(ArchiveCodec codec)
{
    switch (codec) {
        case ArchiveCodec::none:
            return "";
        case ArchiveCodec::zstd:
            return ".zst";
        case ArchiveCodec::lzo:
            return ".lzo";
        case ArchiveCodec::gzip:
            return ".gz";
        case ArchiveCodec::bzip2:
            return ".bz2";
    }
    return "";
}

std::optional<io::Codec> to_io_codec(ArchiveCodec codec)
{
    switch (codec) {
        case ArchiveCodec::none:
            return io::Codec::none;
        case ArchiveCodec::zstd:
            return io::Codec::zstd;
        case ArchiveCodec::lzo:
            return io::Codec::lzo;
        case ArchiveCodec::gzip:
            return io::Codec::gzip;
        case ArchiveCodec::bzip2:
            return std::nullopt;
    }
    return std::nullopt;
}

ArchiveCodec from_io_codec(io::Codec codec)
{
    switch (codec) {
        case io::Codec::none:
            return ArchiveCodec::none;
        case io::Codec::zstd:
            return ArchiveCodec::zstd;
        case io::Codec::lzo:
            return ArchiveCodec::lzo;
        case io::Codec::gzip:
            return ArchiveCodec::gzip;
    }
    return ArchiveCodec::none;
}

std::optional<BackupName> parse_backup_name(std::string_view file_name)
{
    const auto head = parse_head(file_name);
    if (!head) {
        return std::nullopt;
    }
    for (const auto& ext : full_extensions) {
        if (head->rest == ext.text) {
            return BackupName{head->type, head->vmid, head->time, ext.format, ext.codec, ext.tgz};
        }
    }
    return std::nullopt;
}

std::string backup_base_name(GuestType type, std::uint32_t vmid, const BackupTime& time)
{
    return std::string(prefix) + std::string(guest_type_name(type)) + "-" + std::to_string(vmid) + "-" +
           format_backup_time(time);
}

std::string format_backup_name(const BackupName& name)
{
    std::string out = backup_base_name(name.type, name.vmid, name.time);
    if (name.tgz && name.format == ArchiveFormat::tar && name.codec == ArchiveCodec::gzip) {
        return out + ".tgz";
    }
    out += ".";
    out += archive_format_name(name.format);
    out += archive_codec_extension(name.codec);
    return out;
}

std::optional<DifferentialName> parse_differential_name(std::string_view file_name)
{
    // The full's name has no "--", so the first occurrence of the infix splits it.
    const auto at = file_name.find(differential_infix);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view full_file = file_name.substr(0, at);
    const auto full = parse_backup_name(full_file);
    if (!full) {
        return std::nullopt;
    }
    std::string_view rest = file_name.substr(at + differential_infix.size());
    if (rest.size() < time_length) {
        return std::nullopt;
    }
    const auto time = parse_backup_time(rest.substr(0, time_length));
    if (!time) {
        return std::nullopt;
    }
    rest.remove_prefix(time_length);
    if (!rest.starts_with(vcdiff_extension)) {
        return std::nullopt;
    }
    rest.remove_prefix(vcdiff_extension.size());
    for (ArchiveCodec codec :
         {ArchiveCodec::none, ArchiveCodec::zstd, ArchiveCodec::lzo, ArchiveCodec::gzip}) {
        if (rest == archive_codec_extension(codec)) {
            return DifferentialName{*full, std::string(full_file), *time, codec};
        }
    }
    return std::nullopt;
}

std::string format_differential_name(const DifferentialName& name)
{
    return name.full_file + std::string(differential_infix) + format_backup_time(name.time) +
           std::string(vcdiff_extension) + std::string(archive_codec_extension(name.codec));
}

DifferentialName make_differential_name(const BackupName& full, const BackupTime& time, ArchiveCodec codec)
{
    if (codec == ArchiveCodec::bzip2) {
        throw io::Error("differentials cannot be compressed with bzip2");
    }
    return DifferentialName{full, format_backup_name(full), time, codec};
}

BackupName restored_backup_name(const DifferentialName& diff)
{
    return restored_backup_name(diff, diff.full.codec);
}

BackupName restored_backup_name(const DifferentialName& diff, ArchiveCodec codec)
{
    return BackupName{diff.full.type, diff.full.vmid, diff.time, diff.full.format, codec, false};
}

}  // namespace pvediff::store
