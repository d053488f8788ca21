// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Exit statuses, in one place (documented in pvediff(1) and docs/user-guide.md).
namespace pvediff::cli {

enum ExitCode : int {
    exit_ok = 0,
    exit_check_failed = 1,  // verify found a problem; nothing else went wrong
    exit_usage = 2,         // bad command line or configuration
    exit_error = 3,         // the operation failed (I/O, corrupt input...); nothing was lost
    exit_locked = 4,        // another pvediff run holds the guest's lock (lock-timeout passed):
                            // nothing was done, try again later
};
// Interrupted by SIGHUP, SIGINT or SIGTERM: 128 + the signal's number (io/interrupt.h).
// Work found already done (a re-run of a backup that replaced its archive, a
// restore of nothing new) is success: exit_ok.

int run(int argc, char** argv);

}  // namespace pvediff::cli
