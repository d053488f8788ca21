// SPDX-License-Identifier: GPL-2.0-or-later
#include <malloc.h>

#include <csignal>

#include "pvediff/cli/exit_codes.h"
#include "pvediff/io/interrupt.h"

int main(int argc, char** argv)
{
    // Past a file size limit (ulimit -f, RLIMIT_FSIZE) the kernel would kill us with
    // SIGXFSZ, leaving a temporary file and no message. Ignored, the write fails with
    // EFBIG instead: reported with the file's name, temporaries removed.
    std::signal(SIGXFSZ, SIG_IGN);
    // Buffers of 16 MiB and more (fine matching's large regions, the decoder's window)
    // are mapped apart and given back when freed. glibc would otherwise raise this
    // threshold to the largest block freed so far, after which such buffers came from
    // the heap and stayed there: a backup of a 2 GB tar pair peaked at 263 MiB
    // resident instead of 211-216 MiB, over the 256 MiB pvediff allows itself at that
    // size (docs/engine.md, "Trade-offs and what is left").
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    // SIGTERM, SIGINT, SIGHUP: temporaries removed, exit 128+n. First, before any
    // other thread exists, so that every thread inherits the blocked signals.
    const pvediff::io::InterruptExit interrupts;
    return pvediff::cli::run(argc, argv);
}
