// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What `backup --nbd` needs of the guest's previous backup: whether its dirty bitmap
// continues from it (the trust rules of docs/nbd.md, recorded in the manifests under
// the nbd-* keys), and its content, read once in order and checked against its manifest.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "pvediff/commands/content_digest.h"
#include "pvediff/engine/in_step_decoder.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"
#include "pvediff/io/stream_pipe.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands::detail {

// Manifest keys written by `backup --nbd` (kept by every reader as unknown keys).
inline constexpr const char* nbd_devices_key = "nbd-devices";  // "drive-scsi0=SIZE,drive-scsi1=SIZE"
inline constexpr const char* nbd_bitmap_key = "nbd-bitmap";    // the bitmap cleared at this backup
inline constexpr const char* nbd_read_key = "nbd-read";        // "whole-disk" or "dirty-since <file>"
inline constexpr const char* nbd_bytes_read_key = "nbd-bytes-read";
inline constexpr const char* nbd_plan_key =
    "nbd-plan";  // "N of M clusters changed since the full" or "not used: why"

std::optional<std::string> manifest_value(const store::Manifest& m, const std::string& key);

// The backup a bitmap continues from, or why there is none.
struct Continuation {
    std::filesystem::path previous;  // the newest backup of the guest (set: trusted)
    std::filesystem::path full;      // its full, when `previous` is a differential
    store::Manifest manifest;        // `previous`'s
    std::string reason;              // set when not trusted: why everything is read
};

// `devices`: the exports' "name=size,..." as nbd_devices_key records it. The caller
// has checked that every export offers the bitmap and that the mode is "reuse".
Continuation find_continuation(const std::filesystem::path& dir, std::uint32_t vmid,
                               const std::string& bitmap, const std::string& devices);

// Whether `previous` (a differential) was written by the plan path, whose COPYs
// engine::InStepDecoder can follow in step with the plan's one read of the full.
bool written_by_plan(const Continuation& c);

// The previous backup's decompressed content: a full read from its file, a
// differential rebuilt against its full on a thread, or (the second constructor) a
// differential the plan path wrote, decoded in step with the full as `full` reads it.
// Hashed on the way.
class PreviousContent {
public:
    PreviousContent(const Continuation& c, const std::filesystem::path& spill_dir);
    PreviousContent(const Continuation& c, const engine::RecentBytes& full);
    ~PreviousContent();
    PreviousContent(const PreviousContent&) = delete;
    PreviousContent& operator=(const PreviousContent&) = delete;

    io::ByteSource& source() { return *hashed_; }
    // Reads what is left, then throws unless the content's size and digest (of the
    // manifest's kind) are the manifest's (so no cluster taken from it came from a damaged or other file).
    void check_complete();

private:
    std::string name_;
    store::Manifest manifest_;
    std::unique_ptr<io::StreamPipe> pipe_;  // a differential's rebuild
    std::thread rebuild_;
    std::string rebuild_error_;
    std::unique_ptr<io::ByteSource> raw_;
    std::unique_ptr<DigestingSource> hashed_;  // of the manifest's kind
};

}  // namespace pvediff::commands::detail
