// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/list.h"

#include "pvediff/store/dump_dir.h"

namespace pvediff::commands {

std::vector<ListRow> list_dump_dir(const std::filesystem::path& dir, std::optional<std::uint32_t> vmid)
{
    const store::DumpDir scanned = store::scan_dump_dir(dir);
    std::vector<ListRow> rows;
    for (const auto& g : scanned.guests) {
        if (vmid && g.guest.vmid != *vmid) {
            continue;
        }
        const std::string guest = std::string(store::guest_type_name(g.guest.type)) + " " + std::to_string(g.guest.vmid);
        for (const auto& chain : g.chains) {
            const auto& f = chain.full;
            rows.push_back({guest, f.file, "full", f.name.time.time, f.size, 1.0, f.sidecars.manifest.has_value(),
                            f.sidecars.is_protected(), f.sidecars.manifest ? "" : "no manifest"});
            for (const auto& d : chain.differentials) {
                const double ratio = f.size ? static_cast<double>(d.size) / static_cast<double>(f.size) : 0.0;
                rows.push_back({guest, d.file, "differential", d.name.time.time, d.size, ratio,
                                d.sidecars.manifest.has_value(), d.sidecars.is_protected(),
                                d.sidecars.manifest ? "" : "no manifest (older add-on?)"});
            }
        }
        for (const auto& d : g.orphan_differentials) {
            rows.push_back({guest, d.file, "orphan", d.name.time.time, d.size, 0.0, d.sidecars.manifest.has_value(),
                            d.sidecars.is_protected(), "ORPHAN: its full is missing, cannot be restored"});
        }
    }
    return rows;
}

}  // namespace pvediff::commands
