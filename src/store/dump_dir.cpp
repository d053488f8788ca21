// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/dump_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "pvediff/io/error.h"

namespace pvediff::store {
namespace {

// Newest first; equal times by name, descending, so the order is deterministic.
template <typename T>
bool newer_first(const T& a, const T& b)
{
    if (a.name.time != b.name.time) {
        return a.name.time > b.name.time;
    }
    return a.file > b.file;
}

struct GuestBuilder {
    std::map<std::string, Chain> chains;  // by full file name
    std::vector<DifferentialBackup> differentials;
    std::vector<DirEntry> sidecars;
    std::vector<DirEntry> logs;
    std::vector<DirEntry> in_progress;
};

void attach_sidecar(Sidecars& sidecars, const DirEntry& entry)
{
    switch (entry.parsed.kind) {
        case EntryKind::notes:
            sidecars.notes = entry.name;
            break;
        case EntryKind::protected_marker:
            sidecars.protected_marker = entry.name;
            break;
        case EntryKind::manifest:
            sidecars.manifest = entry.name;
            break;
        case EntryKind::index:
            sidecars.index = entry.name;
            break;
        case EntryKind::restored_marker:
            sidecars.restored_marker = entry.name;
            break;
        case EntryKind::verified_record:
            sidecars.verified = entry.name;
            break;
        case EntryKind::nbd_changed:
            sidecars.nbd_changed = entry.name;
            break;
        case EntryKind::vma_clusters:
            sidecars.vma_clusters = entry.name;
            break;
        default:
            break;
    }
}

GuestBackups build_guest(GuestKey key, GuestBuilder& b)
{
    GuestBackups out;
    out.guest = key;
    std::map<std::string, Sidecars*> by_file;
    for (auto& diff : b.differentials) {
        auto it = b.chains.find(diff.name.full_file);
        if (it == b.chains.end()) {
            out.orphan_differentials.push_back(std::move(diff));
        } else {
            it->second.differentials.push_back(std::move(diff));
        }
    }
    for (auto& [name, chain] : b.chains) {
        std::sort(chain.differentials.begin(), chain.differentials.end(), newer_first<DifferentialBackup>);
        out.chains.push_back(std::move(chain));
    }
    std::sort(out.chains.begin(), out.chains.end(),
              [](const Chain& x, const Chain& y) { return newer_first(x.full, y.full); });
    std::sort(out.orphan_differentials.begin(), out.orphan_differentials.end(),
              newer_first<DifferentialBackup>);

    // Pointers are taken only now that the vectors no longer move.
    std::vector<std::pair<const BackupTime*, Sidecars*>> by_time;
    for (auto& chain : out.chains) {
        by_file[chain.full.file] = &chain.full.sidecars;
        by_time.emplace_back(&chain.full.name.time, &chain.full.sidecars);
        for (auto& diff : chain.differentials) {
            by_file[diff.file] = &diff.sidecars;
            by_time.emplace_back(&diff.name.time, &diff.sidecars);
        }
    }
    for (auto& diff : out.orphan_differentials) {
        by_file[diff.file] = &diff.sidecars;
        by_time.emplace_back(&diff.name.time, &diff.sidecars);
    }
    for (auto& entry : b.sidecars) {
        auto it = by_file.find(entry.parsed.owner);
        if (it == by_file.end()) {
            out.orphan_sidecars.push_back(std::move(entry));
        } else {
            attach_sidecar(*it->second, entry);
        }
    }
    // A log is named after the archive vzdump wrote: the full, or the differential
    // that replaced it, made at that time.
    for (auto& entry : b.logs) {
        auto it = std::find_if(by_time.begin(), by_time.end(),
                               [&](const auto& p) { return *p.first == *entry.parsed.log_time; });
        if (it == by_time.end() || it->second->log) {
            out.unattached_logs.push_back(std::move(entry));
        } else {
            it->second->log = entry.name;
        }
    }
    for (auto& entry : b.in_progress) {
        for (auto& chain : out.chains) {
            if (entry.parsed.owner == chain.full.file) {
                chain.full.being_replaced = true;
            }
        }
        out.in_progress.push_back(std::move(entry));
    }
    std::sort(out.unattached_logs.begin(), out.unattached_logs.end(),
              [](const DirEntry& x, const DirEntry& y) { return x.name > y.name; });
    return out;
}

}  // namespace

std::vector<std::string> Sidecars::removable_files() const
{
    std::vector<std::string> out;
    for (const auto* f :
         {&log, &notes, &manifest, &index, &restored_marker, &verified, &nbd_changed, &vma_clusters}) {
        if (*f) {
            out.push_back(**f);
        }
    }
    return out;
}

const GuestBackups* DumpDir::find(GuestKey guest) const
{
    for (const auto& g : guests) {
        if (g.guest == guest) {
            return &g;
        }
    }
    return nullptr;
}

DumpDir scan_dump_dir(const std::filesystem::path& dir)
{
    DumpDir out;
    out.path = dir;
    std::map<GuestKey, GuestBuilder> builders;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) {
        io::throw_errno("read directory", dir.string(), ec.value());
    }
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) {
            io::throw_errno("read directory", dir.string(), ec.value());
        }
        DirEntry entry;
        entry.name = it->path().filename().string();
        struct stat st {};
        // stat follows symlinks: a link to an archive counts as the archive. An entry
        // that vanished or dangles is "other" and never touched.
        if (::stat(it->path().c_str(), &st) != 0) {
            entry.parsed = EntryName{};
            out.other.push_back(std::move(entry));
            continue;
        }
        entry.is_directory = S_ISDIR(st.st_mode);
        entry.mtime = st.st_mtime;
        entry.size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
        entry.parsed = classify_entry_name(entry.name, entry.is_directory);
        const EntryKind kind = entry.parsed.kind;
        const bool regular = S_ISREG(st.st_mode);
        if (kind != EntryKind::in_progress && kind != EntryKind::other && !regular) {
            entry.parsed.kind = EntryKind::other;  // e.g. a directory named like a backup
        }
        if (entry.parsed.kind == EntryKind::other || entry.parsed.kind == EntryKind::lock) {
            out.other.push_back(std::move(entry));
            continue;
        }
        if (!entry.parsed.guest) {
            out.in_progress.push_back(std::move(entry));  // only in-progress entries get here
            continue;
        }
        GuestBuilder& b = builders[*entry.parsed.guest];
        switch (entry.parsed.kind) {
            case EntryKind::full: {
                FullBackup full{entry.name, *entry.parsed.full, entry.size, entry.mtime, {}, false};
                b.chains.emplace(entry.name, Chain{std::move(full), {}});
                break;
            }
            case EntryKind::differential:
                b.differentials.push_back(
                    DifferentialBackup{entry.name, *entry.parsed.differential, entry.size, entry.mtime, {}});
                break;
            case EntryKind::log:
                b.logs.push_back(std::move(entry));
                break;
            case EntryKind::in_progress:
                b.in_progress.push_back(std::move(entry));
                break;
            default:
                b.sidecars.push_back(std::move(entry));
                break;
        }
    }
    for (auto& [key, builder] : builders) {
        out.guests.push_back(build_guest(key, builder));
    }
    std::sort(out.guests.begin(), out.guests.end(), [](const GuestBackups& x, const GuestBackups& y) {
        if (x.guest.vmid != y.guest.vmid) {
            return x.guest.vmid < y.guest.vmid;
        }
        return x.guest.type < y.guest.type;
    });
    std::sort(out.other.begin(), out.other.end(),
              [](const DirEntry& x, const DirEntry& y) { return x.name < y.name; });
    return out;
}

std::vector<BackupRef> all_backups(const GuestBackups& guest)
{
    std::vector<BackupRef> out;
    for (const auto& chain : guest.chains) {
        out.push_back(BackupRef{&chain.full, nullptr, &chain});
        for (const auto& diff : chain.differentials) {
            out.push_back(BackupRef{nullptr, &diff, &chain});
        }
    }
    for (const auto& diff : guest.orphan_differentials) {
        out.push_back(BackupRef{nullptr, &diff, nullptr});
    }
    std::stable_sort(out.begin(), out.end(), [](const BackupRef& x, const BackupRef& y) {
        if (x.time() != y.time()) {
            return x.time() > y.time();
        }
        return x.file() > y.file();
    });
    return out;
}

}  // namespace pvediff::store
