// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff backup`: turn a finished vzdump archive (or one arriving on stdin) into a
// full or a verified differential, following the policy of store/policy.h.
//
// Safety (docs/data-safety.md, rules 1-5): the guest's lock is held throughout; every file is
// written under a temporary name and renamed into place; the new archive is deleted
// only after the differential has been decoded again and its content SHA-256 equals
// the archive's; on any error nothing is left under a final name and the archive stays.
//
// A run killed after committing a differential but before deleting its archive leaves
// both (two backups of one time). The next run of that guest, under the lock, finishes
// it: the differential is decoded again and the archive deleted only if the contents
// match (otherwise both stay, with a warning). A stream (`-`) is checked as a VMA or tar
// on the way (a stream cut short, e.g. vzdump killed, fails and leaves nothing).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "pvediff/commands/progress.h"
#include "pvediff/commands/report.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/store/config.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

struct BackupResult {
    bool differential = false;
    std::filesystem::path written;  // the differential, or the full (stream mode / kept full)
    std::uint64_t content_size = 0;
    std::uint64_t file_size = 0;
};

// File mode: `archive` is a finished full in its dump dir.
// `progress`: where the reading and the verification decode show progress (null: nowhere).
BackupResult backup_archive(const std::filesystem::path& archive, const store::EffectiveSettings& settings,
                            const Report& report, Progress* progress = nullptr);

struct StreamBackupOptions {
    store::GuestType type = store::GuestType::qemu;
    std::uint32_t vmid = 0;
    std::filesystem::path dumpdir;
    std::optional<io::Codec> full_codec;  // of a full written from the stream; default: as
                                          // the input (zstd when the input is raw)
    std::optional<std::time_t> now;       // for tests: the backup's time
    // The archive's bytes (raw or compressed, detected as on stdin) and what to call
    // them in messages; null: standard input. `pvediff backup --nbd` passes the VMA it
    // generates from NBD exports here (backup_nbd.h).
    std::unique_ptr<io::ByteSource> input;
    std::string input_what = "standard input";
};

// Stream mode: the archive arrives on standard input (`vzdump --stdout`, raw or
// compressed), or from options.input.
BackupResult backup_stream(StreamBackupOptions options, const store::EffectiveSettings& settings,
                           const Report& report, Progress* progress = nullptr);

}  // namespace pvediff::commands
