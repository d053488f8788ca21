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
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "pvediff/commands/progress.h"
#include "pvediff/commands/report.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_writer.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"
#include "pvediff/store/config.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

// A kept vzdump full written again in zstd frames (frame-fulls): whether it was, and
// the report's words for what was done or why not.
struct FullFramingOutcome {
    bool written = false;
    std::string note;
};

struct BackupResult {
    bool differential = false;
    std::filesystem::path written;  // the differential, or the full (stream mode / kept full)
    std::uint64_t content_size = 0;
    std::uint64_t file_size = 0;
    std::optional<FullFramingOutcome> framing;  // set where a kept full was to be framed
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

// `backup --nbd`'s differential written from a cluster plan instead of encoded from a
// stream (docs/nbd.md, "The plan path"): what the plan's writer hands back.
struct PlannedContent {
    std::uint64_t target_size = 0;  // the new archive it stands for
    io::Digest target_sha256{};
    // target_sha256 is the VMA item digest (formats/vma_item_digest.h), not the SHA-256.
    bool vma_items_digest = false;
    std::uint64_t base_size = 0;  // the full, as read and hashed by the writer
    io::Digest base_sha256{};
    engine::VcdiffWriterStats stats;
};
// Writes the VCDIFF of the new archive against the full `base` into `out` (the caller
// compresses, and finishes `out`), recording every instruction in `proof`.
using PlannedWriter = std::function<PlannedContent(const std::filesystem::path& base, io::ByteSink& out,
                                                   engine::CopyProof& proof)>;

struct PlannedBackupOptions {
    std::uint32_t vmid = 0;  // a qemu guest
    std::filesystem::path dumpdir;
    io::Codec full_codec = io::Codec::zstd;  // of the archive it stands for (names the differential)
    std::optional<std::time_t> now;
    std::filesystem::path base;  // the full the plan is made against
    PlannedWriter write;
    // Told the differential's name before `write` runs (its sidecars are named after it).
    std::function<void(const std::filesystem::path& target)> on_target;
};
struct PlannedBackupResult {
    std::optional<BackupResult> backup;  // nothing: not taken, nothing written
    std::string not_taken;               // why
};
// Under the guest's lock, as backup_stream: when the policy decides a differential
// against options.base, writes it with options.write, checks the written file against
// the proof (check_proof) and the full's content against its manifest, and commits it.
// When the policy decides otherwise (a new full, another full) or the differential
// is too large, writes nothing and says why (the caller takes the stream path).
PlannedBackupResult backup_planned(const PlannedBackupOptions& options,
                                   const store::EffectiveSettings& settings, const Report& report);

}  // namespace pvediff::commands
