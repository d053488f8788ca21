// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_previous.h"

#include <fmt/format.h>

#include "pvediff/commands/pipeline.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/error.h"
#include "pvediff/io/threaded_stream.h"
#include "pvediff/store/dump_dir.h"

namespace pvediff::commands::detail {

namespace fs = std::filesystem;

std::optional<std::string> manifest_value(const store::Manifest& m, const std::string& key)
{
    for (const auto& [k, v] : m.unknown) {
        if (k == key) {
            return v;
        }
    }
    return std::nullopt;
}

Continuation find_continuation(const fs::path& dir, std::uint32_t vmid, const std::string& bitmap,
                               const std::string& devices)
{
    Continuation c;
    const store::DumpDir scanned = store::scan_dump_dir(dir);
    const store::GuestBackups* guest = scanned.find({store::GuestType::qemu, vmid});
    const auto all = guest != nullptr ? store::all_backups(*guest) : std::vector<store::BackupRef>{};
    if (all.empty()) {
        c.reason = "no earlier backup of this guest";
        return c;
    }
    const store::BackupRef& newest = all.front();
    const fs::path path = dir / newest.file();
    std::optional<store::Manifest> m;
    try {
        m = store::read_manifest(path);
    } catch (const io::Error& e) {
        // Falls back (reason 4 of "Errors"): a full read needs nothing of this backup.
        c.reason =
            fmt::format("the manifest of the newest backup {} is unreadable ({})", newest.file(), e.what());
        return c;
    }
    if (!m) {
        c.reason = fmt::format("the newest backup {} has no manifest", newest.file());
        return c;
    }
    if (manifest_value(*m, nbd_bitmap_key) != bitmap) {
        c.reason = fmt::format(
            "the newest backup {} was not made with bitmap '{}' (a backup by plain vzdump or "
            "with another bitmap came in between)",
            newest.file(), bitmap);
        return c;
    }
    if (manifest_value(*m, nbd_devices_key) != devices) {
        c.reason = fmt::format("the disks are not those of the newest backup {} (names, sizes or order)",
                               newest.file());
        return c;
    }
    if (newest.differential != nullptr) {
        if (newest.chain == nullptr) {
            c.reason = fmt::format("the full of the newest backup {} is gone", newest.file());
            return c;
        }
        c.full = dir / newest.chain->full.file;
    }
    c.previous = path;
    c.manifest = std::move(*m);
    return c;
}

PreviousContent::PreviousContent(const Continuation& c, const fs::path& spill_dir)
    : name_(c.previous.string()), manifest_(c.manifest)
{
    if (c.full.empty()) {
        raw_ = io::make_read_ahead(io::open_decompressed(c.previous.string()).source);
    } else {
        pipe_ = std::make_unique<io::StreamPipe>("rebuilt " + c.previous.filename().string());
        rebuild_ = std::thread([this, full = c.full.string(), spill_dir] {
            try {
                rebuild_archive(full, name_, pipe_->sink(), spill_dir, ContentHashes::none);
                pipe_->sink().finish();
            } catch (const std::exception& e) {
                // Carried to the reading side (reason 2 of "Errors").
                rebuild_error_ = e.what();
                pipe_->fail(e.what());
            }
        });
        raw_ = std::make_unique<io::SourceRef>(pipe_->source());
    }
    hashed_ = std::make_unique<DigestingSource>(*raw_, manifest_.content_digest);
}

bool written_by_plan(const Continuation& c)
{
    // "N of M clusters changed since the full" (not "not used: why").
    const auto v = manifest_value(c.manifest, nbd_plan_key);
    return !c.full.empty() && v && !v->empty() && v->front() >= '0' && v->front() <= '9';
}

PreviousContent::PreviousContent(const Continuation& c, const engine::RecentBytes& full)
    : name_(c.previous.string()), manifest_(c.manifest)
{
    raw_ = std::make_unique<engine::InStepDecoder>(io::open_decompressed(c.previous.string()).source, full);
    hashed_ = std::make_unique<DigestingSource>(*raw_, manifest_.content_digest);
}

PreviousContent::~PreviousContent()
{
    if (rebuild_.joinable()) {
        pipe_->close_reader();
        rebuild_.join();
    }
}

void PreviousContent::check_complete()
{
    std::vector<std::uint8_t> rest(io::stream_buffer_size);
    while (hashed_->read(rest) != 0) {
    }
    hashed_->finish();
    if (const auto wrong = content_digest_mismatch(manifest_, hashed_->digester())) {
        throw io::file_error(name_, "its content is not what its manifest records: {}; nothing was kept",
                             *wrong);
    }
}

}  // namespace pvediff::commands::detail
