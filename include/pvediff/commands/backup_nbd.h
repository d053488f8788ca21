// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff backup --nbd DEV=URI...`: a VM backup read from NBD exports of its disks
// (PVE's backup-provider API hands a provider one per disk; `qemu-nbd` makes them by
// hand). pvediff writes the VMA itself (nbd_vma_stream.h) and hands it to the stream
// path of backup.h, which decides full or differential, checks, verifies and commits
// exactly as for `vzdump --stdout`.
//
// With a dirty bitmap that continues from the guest's newest backup (trust rules:
// docs/nbd.md), only the extents the bitmap marks are read over NBD; every other byte
// comes from that backup's content. Otherwise every allocated extent is read, and the
// reason is reported. The manifest of what is written records the devices and the
// bitmap, so the next run can tell whether its bitmap continues from this backup.
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/commands/backup.h"
#include "pvediff/io/codec.h"

namespace pvediff::commands {

struct NbdDiskOption {
    std::string device;  // VMA device name: "drive-scsi0", as vzdump names it
    std::string uri;     // "nbd+unix:///drive-scsi0?socket=/run/..."
};

// PVE's bitmap-mode: `fresh` is "new" (the bitmap was just created: all of the disk
// counts as dirty, so it is read whole), `reuse` continues an existing one.
enum class BitmapMode { fresh, reuse };

struct NbdBackupOptions {
    std::uint32_t vmid = 0;
    std::filesystem::path dumpdir;
    std::filesystem::path guest_config;  // qemu-server.conf of the guest (the VMA's config blob)
    std::vector<NbdDiskOption> disks;
    std::optional<std::string> bitmap;  // the dirty bitmap's name, on every export
    BitmapMode bitmap_mode = BitmapMode::reuse;
    std::optional<io::Codec> full_codec;  // default zstd
    std::optional<std::time_t> now;       // for tests
};

struct NbdBackupResult {
    BackupResult backup;
    bool dirty_only = false;  // only the bitmap's extents were read
    bool planned = false;     // the differential was written from the cluster plan
    // ... from the full's records (docs/nbd.md, "The records route"), and what it read:
    bool by_records = false;
    std::string records_not_used;        // why not, when a plan was made without them
    std::uint64_t extents = 0;           // of the new VMA
    std::uint64_t extents_touched = 0;   // holding a cluster dirty today or changed since the full
    std::uint64_t frames_read = 0;       // frames of the full decompressed
    std::uint64_t previous_changed = 0;  // clusters decoded from the previous differential
    std::string full_read_reason;        // why not, when not
    std::uint64_t bytes_read = 0;        // over NBD, all exports
    std::uint64_t bytes_listed = 0;      // what the plan asked to read (== bytes_read when it succeeds)
};

NbdBackupResult backup_nbd(const NbdBackupOptions& options, const store::EffectiveSettings& settings,
                           const Report& report, Progress* progress = nullptr);

}  // namespace pvediff::commands
