// SPDX-License-Identifier: GPL-2.0-or-later
#include <csignal>

#include "pvediff/cli/exit_codes.h"
#include "pvediff/io/interrupt.h"

int main(int argc, char** argv)
{
    // Past a file size limit (ulimit -f, RLIMIT_FSIZE) the kernel would kill us with
    // SIGXFSZ, leaving a temporary file and no message. Ignored, the write fails with
    // EFBIG instead: reported with the file's name, temporaries removed.
    std::signal(SIGXFSZ, SIG_IGN);
    // SIGTERM, SIGINT, SIGHUP: temporaries removed, exit 128+n. First, before any
    // other thread exists, so that every thread inherits the blocked signals.
    const pvediff::io::InterruptExit interrupts;
    return pvediff::cli::run(argc, argv);
}
