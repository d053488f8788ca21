// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `frame-fulls` (on by default): a VMA full in zstd that vzdump wrote as one stream is
// written again as pvediff writes its own fulls, one zstd frame per extent with its
// cluster records (formats/vma_cluster_records.h), while `backup` reads it to keep it.
// The content stays the same, byte for byte, and is checked again from the new file
// before it takes the full's name; stock zstd, vzdump and PVE read it as before. What
// it gives: restores read any part of the full directly (commands/framed_full.h)
// instead of setting aside what lies between.
//
// Best effort: a failure here (a full disk, a crash, a copy that does not hold the same
// content) leaves vzdump's file as it was and nothing else behind, says why, and never
// fails the backup. The copy is not started where the dump dir has less room than
// twice the full.
#include <filesystem>
#include <memory>
#include <string>

#include "pvediff/commands/backup.h"
#include "pvediff/commands/pipeline.h"
#include "pvediff/commands/progress.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/codec.h"

namespace pvediff::commands::detail {

class FullFraming {
public:
    // Opens the copy beside `full` under temporary names, with the full's mode and owner.
    // Throws io::Error when it cannot, or when the dump dir has less room than twice
    // the full (the caller goes on without it).
    FullFraming(const std::filesystem::path& full, const io::CompressOptions& compress);
    ~FullFraming();
    FullFraming(const FullFraming&) = delete;
    FullFraming& operator=(const FullFraming&) = delete;

    // Where the full's content goes as it is read; never throws (a failure is kept).
    io::ByteSink& sink();

    // Once the full is checked and known to hold `content`: finishes the copy, checks
    // that it holds exactly `content`, and puts it in the full's place, then its records.
    // Returns whether it was, and what was done or why not, for the report. The read of
    // the copy is shown as `what` on `progress` (may be null).
    FullFramingOutcome replace(const ContentInfo& content, Progress* progress, const std::string& what);
    // The outcome when the copy could not even be started.
    static FullFramingOutcome not_started(const std::string& why);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pvediff::commands::detail
