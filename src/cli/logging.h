// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Where pvediff's messages go, through spdlog: one logger for lines on stdout (the
// hook's lines, which vzdump copies into its task log) and one for stderr (commands
// whose stdout carries data or JSON, and errors). Levels: -q shows errors only, -v
// adds debug lines. When a stream is systemd's journal stream (JOURNAL_STREAM names
// its device and inode, as systemd sets it for a unit's stdout/stderr), each line on
// it starts with the sd-daemon priority prefix "<3>".."<7>", so the journal files it
// with that priority (`journalctl -p err` finds problems). Comparing device and
// inode, not just seeing the variable, matters: the hook runs under vzdump, which
// inherits JOURNAL_STREAM from pvescheduler's unit but reads the hook's output
// through its own pipe into the task log, where a "<6>" would be noise.
#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace pvediff::cli {

enum class Verbosity { quiet, normal, verbose };

struct Loggers {
    std::shared_ptr<spdlog::logger> out;  // stdout
    std::shared_ptr<spdlog::logger> err;  // stderr
};

// Prefixes priorities on each stream that is the journal stream.
Loggers make_loggers(Verbosity verbosity);

// `fd` is the stream JOURNAL_STREAM ("<device>:<inode>") names.
bool is_journal_stream(int fd);

}  // namespace pvediff::cli
