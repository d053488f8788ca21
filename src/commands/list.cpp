// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/list.h"

#include "pvediff/io/error.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/manifest.h"
#include "pvediff/store/verified_record.h"

namespace pvediff::commands {

namespace {

// The verify record of a backup that has one; an unusable record counts as none.
std::optional<VerifiedState> verified_state(const std::filesystem::path& file,
                                            const store::Sidecars& sidecars,
                                            const std::optional<store::Manifest>& manifest)
{
    if (!sidecars.verified) {
        return std::nullopt;
    }
    try {
        const auto record = store::read_verified_record(file);
        if (!record) {
            return std::nullopt;
        }
        const auto now = store::backup_identity_of(
            file, manifest ? std::optional(manifest->content_sha256) : std::nullopt);
        return VerifiedState{record->verified, record->ok, record->identity == now};
    } catch (const io::Error&) {
        return std::nullopt;
    }
}

void add(SpaceTotals& t, const ListRow& r)
{
    ++t.backups;
    t.size += r.size;
    t.vzdump_size += r.vzdump_size;
}

}  // namespace

Listing list_dump_dir(const std::filesystem::path& dir, std::optional<std::uint32_t> vmid)
{
    const store::DumpDir scanned = store::scan_dump_dir(dir);
    Listing listing;
    listing.dir = dir;
    for (const auto& g : scanned.guests) {
        if (vmid && g.guest.vmid != *vmid) {
            continue;
        }
        GuestListing guest_listing{g.guest.type, g.guest.vmid, {}};
        const std::string guest =
            std::string(store::guest_type_name(g.guest.type)) + " " + std::to_string(g.guest.vmid);
        auto row = [&](const std::string& file, const std::string& kind, const std::string& full,
                       std::time_t time, std::uint64_t size, double ratio, const store::Sidecars& sidecars,
                       std::string note, std::uint64_t vzdump_size) {
            const auto manifest = sidecars.manifest ? store::read_manifest_or_none(dir / file) : std::nullopt;
            listing.rows.push_back({guest, g.guest.type, g.guest.vmid, file, kind, full, time, size, ratio,
                                    sidecars.manifest.has_value(), sidecars.is_protected(), std::move(note),
                                    vzdump_size, verified_state(dir / file, sidecars, manifest),
                                    manifest ? std::optional(manifest->content_digest) : std::nullopt});
            add(guest_listing.totals, listing.rows.back());
        };
        for (const auto& chain : g.chains) {
            const auto& f = chain.full;
            row(f.file, "full", "", f.name.time.time, f.size, 1.0, f.sidecars,
                f.sidecars.manifest ? "" : "no manifest", f.size);
            const auto full_manifest = chain.differentials.empty() || !f.sidecars.manifest
                                           ? std::nullopt
                                           : store::read_manifest_or_none(dir / f.file);
            for (const auto& d : chain.differentials) {
                const double ratio = f.size ? static_cast<double>(d.size) / static_cast<double>(f.size) : 0.0;
                std::uint64_t vzdump_size = f.size;
                if (full_manifest && full_manifest->content_size > 0 && d.sidecars.manifest) {
                    if (const auto m = store::read_manifest_or_none(dir / d.file)) {
                        vzdump_size = static_cast<std::uint64_t>(
                            static_cast<double>(m->content_size) * static_cast<double>(f.size) /
                            static_cast<double>(full_manifest->content_size));
                    }
                }
                row(d.file, "differential", f.file, d.name.time.time, d.size, ratio, d.sidecars,
                    d.sidecars.manifest ? "" : "no manifest (older add-on?)", vzdump_size);
            }
        }
        for (const auto& d : g.orphan_differentials) {
            row(d.file, "orphan", d.name.full_file, d.name.time.time, d.size, 0.0, d.sidecars,
                "ORPHAN: its full is missing, cannot be restored", d.size);
        }
        if (guest_listing.totals.backups > 0) {
            listing.totals.backups += guest_listing.totals.backups;
            listing.totals.size += guest_listing.totals.size;
            listing.totals.vzdump_size += guest_listing.totals.vzdump_size;
            listing.guests.push_back(guest_listing);
        }
    }
    return listing;
}

}  // namespace pvediff::commands
