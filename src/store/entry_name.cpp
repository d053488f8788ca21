// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/entry_name.h"

#include <array>
#include <utility>

#include "pvediff/io/atomic_file.h"

namespace pvediff::store {
namespace {

struct BackupFile {
    std::optional<BackupName> full;
    std::optional<DifferentialName> differential;
    GuestKey guest;
};

std::optional<BackupFile> parse_backup_file(std::string_view name)
{
    if (auto d = parse_differential_name(name)) {
        const GuestKey key{d->full.type, d->full.vmid};
        return BackupFile{std::nullopt, std::move(d), key};
    }
    if (auto f = parse_backup_name(name)) {
        const GuestKey key{f->type, f->vmid};
        return BackupFile{f, std::nullopt, key};
    }
    return std::nullopt;
}

// "vzdump-qemu-101-TIME" followed by nothing.
std::optional<std::pair<GuestKey, BackupTime>> parse_log_base(std::string_view base)
{
    // Reuse the full-name parser by appending an extension: same grammar up to there.
    const auto full = parse_backup_name(std::string(base) + ".vma");
    if (!full) {
        return std::nullopt;
    }
    return std::pair{GuestKey{full->type, full->vmid}, full->time};
}

// The guest a vzdump in-progress name ("vzdump-qemu-101-TIME.vma.dat",
// "vzdump-qemu-101-TIME.tmp") belongs to.
std::optional<GuestKey> guest_of_vzdump_temp(std::string_view stem)
{
    if (auto f = parse_backup_name(stem)) {
        return GuestKey{f->type, f->vmid};
    }
    if (auto l = parse_log_base(stem)) {
        return l->first;
    }
    return std::nullopt;
}

// ".<final>.<pid>-<random>[-<host>].pvediff-tmp" -> "<final>" (see io::temp_path_for;
// the host has no dots).
std::string final_name_of_temp(std::string_view name)
{
    name.remove_suffix(io::temp_marker.size());
    if (name.starts_with('.')) {
        name.remove_prefix(1);
    }
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos) {
        return {};
    }
    return std::string(name.substr(0, dot));
}

}  // namespace

std::string_view entry_kind_name(EntryKind kind)
{
    switch (kind) {
        case EntryKind::full:
            return "full";
        case EntryKind::differential:
            return "differential";
        case EntryKind::log:
            return "log";
        case EntryKind::notes:
            return "notes";
        case EntryKind::protected_marker:
            return "protected";
        case EntryKind::manifest:
            return "manifest";
        case EntryKind::index:
            return "index";
        case EntryKind::restored_marker:
            return "restored";
        case EntryKind::verified_record:
            return "verified";
        case EntryKind::nbd_changed:
            return "nbd-changed";
        case EntryKind::vma_clusters:
            return "vma-clusters";
        case EntryKind::in_progress:
            return "in-progress";
        case EntryKind::lock:
            return "lock";
        case EntryKind::other:
            return "other";
    }
    return "?";
}

std::string lock_file_name(GuestType type, std::uint32_t vmid)
{
    return std::string(lock_prefix) + std::string(guest_type_name(type)) + "-" + std::to_string(vmid);
}

EntryName classify_entry_name(std::string_view name, bool is_directory)
{
    EntryName out;
    if (io::is_temp_name(name)) {
        out.kind = EntryKind::in_progress;
        out.owner = final_name_of_temp(name);
        const auto target = classify_entry_name(out.owner);
        out.guest = target.guest;
        return out;
    }
    if (name.starts_with(lock_prefix)) {
        out.kind = EntryKind::lock;
        std::string_view rest = name.substr(lock_prefix.size());
        const auto dash = rest.find('-');
        if (dash != std::string_view::npos) {
            const auto type = parse_guest_type(rest.substr(0, dash));
            const auto vmid_text = rest.substr(dash + 1);
            if (type && !vmid_text.empty() && vmid_text[0] != '0' && vmid_text.size() <= 10 &&
                vmid_text.find_first_not_of("0123456789") == std::string_view::npos) {
                const auto vmid = std::stoull(std::string(vmid_text));
                if (vmid <= 0xffffffffULL) {
                    out.guest = GuestKey{*type, static_cast<std::uint32_t>(vmid)};
                }
            }
        }
        return out;
    }
    if (name.ends_with(".dat") || name.ends_with(".tmp")) {
        out.kind = EntryKind::in_progress;
        out.guest = guest_of_vzdump_temp(name.substr(0, name.size() - 4));
        return out;
    }
    if (is_directory) {
        return out;  // other
    }
    if (auto file = parse_backup_file(name)) {
        out.kind = file->full ? EntryKind::full : EntryKind::differential;
        out.guest = file->guest;
        out.full = file->full;
        out.differential = std::move(file->differential);
        return out;
    }
    static constexpr std::array<std::pair<std::string_view, EntryKind>, 8> sidecars = {{
        {notes_suffix, EntryKind::notes},
        {protected_suffix, EntryKind::protected_marker},
        {manifest_suffix, EntryKind::manifest},
        {index_suffix, EntryKind::index},
        {restored_suffix, EntryKind::restored_marker},
        {verified_suffix, EntryKind::verified_record},
        {nbd_changed_suffix, EntryKind::nbd_changed},
        {vma_clusters_suffix, EntryKind::vma_clusters},
    }};
    for (const auto& [suffix, kind] : sidecars) {
        if (name.ends_with(suffix)) {
            const auto owner = name.substr(0, name.size() - suffix.size());
            if (auto file = parse_backup_file(owner)) {
                out.kind = kind;
                out.guest = file->guest;
                out.owner = std::string(owner);
                return out;
            }
            return out;  // other
        }
    }
    if (name.ends_with(log_suffix)) {
        if (auto log = parse_log_base(name.substr(0, name.size() - log_suffix.size()))) {
            out.kind = EntryKind::log;
            out.guest = log->first;
            out.log_time = log->second;
        }
    }
    return out;
}

}  // namespace pvediff::store
