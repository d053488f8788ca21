// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff hook PHASE [MODE VMID]`: what vzdump calls (docs/vzdump.md).
// vzdump clears the environment; it passes DUMPDIR, TARGET, VMTYPE, STOREID,
// HOSTNAME, LOGFILE. pvediff acts in one phase only (hook-phase, default log-end: the
// guest is unlocked by then and a failure is only a warning, leaving the archive a
// full), and only when DUMPDIR is set and TARGET is an existing regular file in it:
// nothing for Proxmox Backup Server targets or --stdout. Afterwards it chains to the
// configured hook-script with the same arguments and environment.
#include <map>
#include <string>
#include <vector>

#include "pvediff/commands/progress.h"
#include "pvediff/commands/report.h"
#include "pvediff/store/config.h"

namespace pvediff::commands {

struct HookCall {
    std::vector<std::string> args;           // PHASE [MODE VMID]
    std::map<std::string, std::string> env;  // DUMPDIR, TARGET, VMTYPE, ...
};

// Returns the exit status for vzdump: non-zero when pvediff failed in its phase or
// the chained script failed.
// `progress`: where backup shows its progress (vzdump captures the hook's output:
// the cli gives plain lines there, never the live line of a terminal).
int run_hook(const HookCall& call, const store::Config& config, const Report& report,
             Progress* progress = nullptr);

}  // namespace pvediff::commands
