// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/mount_view.h"

#include <cctype>

#include "pvediff/store/entry_name.h"

namespace pvediff::commands {

namespace {

void add_sidecars(View& view, const ViewEntry& archive, const store::Sidecars& sidecars,
                  const std::string& log_name)
{
    const auto add = [&](const std::optional<std::string>& real, std::string shown, ViewKind kind) {
        if (!real) {
            return;
        }
        ViewEntry e;
        e.name = std::move(shown);
        e.kind = kind;
        e.source = *real;
        e.mtime = archive.mtime;
        e.archive = archive.name;
        view.entries.emplace(e.name, std::move(e));
    };
    add(sidecars.notes, archive.name + std::string(store::notes_suffix), ViewKind::notes);
    add(sidecars.protected_marker, archive.name + std::string(store::protected_suffix),
        ViewKind::protected_marker);
    add(sidecars.log, log_name, ViewKind::log);
}

std::string log_name_of(const store::BackupName& name)
{
    return store::backup_base_name(name.type, name.vmid, name.time) + std::string(store::log_suffix);
}

}  // namespace

const ViewEntry* View::find(std::string_view name) const
{
    const auto it = entries.find(name);
    return it == entries.end() ? nullptr : &it->second;
}

std::string shown_differential_name(const store::DifferentialName& diff)
{
    store::BackupName shown = store::restored_backup_name(diff, store::ArchiveCodec::none);
    shown.tgz = false;
    return store::format_backup_name(shown);
}

View build_view(const store::DumpDir& dir, const DifferentialSize& differential_size)
{
    View view;
    // Fulls first: a real archive wins over a differential standing for the same backup.
    for (const auto& guest : dir.guests) {
        for (const auto& chain : guest.chains) {
            const auto& full = chain.full;
            ViewEntry e;
            e.name = full.file;
            e.kind = ViewKind::full;
            e.source = full.file;
            e.size = full.size;
            e.mtime = full.mtime;
            add_sidecars(view, e, full.sidecars, log_name_of(full.name));
            view.entries.emplace(e.name, std::move(e));
        }
    }
    // Backups a real archive already stands for (any codec): guest, time, format.
    const auto real_stands_for = [&dir](const store::BackupName& shown) {
        for (const auto& guest : dir.guests) {
            for (const auto& chain : guest.chains) {
                const auto& n = chain.full.name;
                if (n.type == shown.type && n.vmid == shown.vmid && n.time == shown.time &&
                    n.format == shown.format) {
                    return true;
                }
            }
        }
        return false;
    };
    for (const auto& guest : dir.guests) {
        for (const auto& chain : guest.chains) {
            // Differentials are newest first; of two for the same backup (another
            // codec), the first in that order is shown and the other left out.
            for (const auto& diff : chain.differentials) {
                store::BackupName shown = store::restored_backup_name(diff.name, store::ArchiveCodec::none);
                shown.tgz = false;
                if (real_stands_for(shown)) {
                    continue;
                }
                ViewEntry e;
                e.name = store::format_backup_name(shown);
                if (view.entries.contains(e.name)) {
                    continue;
                }
                const auto size = differential_size(diff);
                if (!size) {
                    continue;
                }
                e.kind = ViewKind::differential;
                e.source = diff.file;
                e.full_file = chain.full.file;
                e.size = *size;
                e.mtime = diff.name.time.time;
                add_sidecars(view, e, diff.sidecars, log_name_of(shown));
                view.entries.emplace(e.name, std::move(e));
            }
        }
    }
    return view;
}

std::optional<SidecarTarget> writable_sidecar(const View& view, std::string_view shown_name)
{
    // "<archive>.notes", "<archive>.notes.tmp.<digits>", "<archive>.protected"
    const auto archive_source = [&view](std::string_view archive) -> const ViewEntry* {
        const ViewEntry* e = view.find(archive);
        return e && (e->kind == ViewKind::full || e->kind == ViewKind::differential) ? e : nullptr;
    };
    if (shown_name.ends_with(store::protected_suffix)) {
        const auto archive = shown_name.substr(0, shown_name.size() - store::protected_suffix.size());
        if (const ViewEntry* e = archive_source(archive)) {
            return SidecarTarget{e->source + std::string(store::protected_suffix), ViewKind::protected_marker,
                                 false};
        }
        return std::nullopt;
    }
    if (shown_name.ends_with(store::notes_suffix)) {
        const auto archive = shown_name.substr(0, shown_name.size() - store::notes_suffix.size());
        if (const ViewEntry* e = archive_source(archive)) {
            return SidecarTarget{e->source + std::string(store::notes_suffix), ViewKind::notes, false};
        }
        return std::nullopt;
    }
    constexpr std::string_view tmp_infix = ".notes.tmp.";
    const auto at = shown_name.rfind(tmp_infix);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    const auto digits = shown_name.substr(at + tmp_infix.size());
    if (digits.empty() || digits.size() > 10) {
        return std::nullopt;
    }
    for (const char c : digits) {
        if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
            return std::nullopt;
        }
    }
    if (const ViewEntry* e = archive_source(shown_name.substr(0, at))) {
        return SidecarTarget{e->source + std::string(tmp_infix) + std::string(digits), ViewKind::notes, true};
    }
    return std::nullopt;
}

}  // namespace pvediff::commands
