// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Finishing a backup run that was killed between committing a differential and
// deleting the archive it replaces (it leaves both, two backups of one time). The
// archive is deleted only after the differential, decoded again, has exactly the
// archive's content (rule 1); otherwise both are kept, with a warning.
#include <cstdint>
#include <string>
#include <vector>

#include "pvediff/commands/report.h"
#include "pvediff/store/config.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/names.h"

namespace pvediff::commands::detail {

// An interrupted run finished: the archive removed and the differential that now
// stands for it (file names).
struct FinishedRun {
    std::string archive;
    std::string differential;
};

// Finishes each such run of the guest in `scanned`, so that the archive is neither
// kept twice nor taken as the newest full. Needs the guest's lock.
std::vector<FinishedRun> finish_interrupted_runs(const store::DumpDir& scanned, store::GuestType type,
                                                 std::uint32_t vmid, const store::EffectiveSettings& settings,
                                                 const Report& report);

}  // namespace pvediff::commands::detail
