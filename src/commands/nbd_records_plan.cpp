// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_records_plan.h"

#include <fmt/format.h>

#include <optional>

#include "framed_full.h"
#include "nbd_records_walker.h"
#include "pvediff/engine/changed_cluster_decoder.h"
#include "pvediff/engine/vma_records_encoder.h"
#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/zstd_frame_reader.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands::detail {

namespace fs = std::filesystem;

namespace {

// The previous differential's changed clusters, decoded from it and the frames of the
// full that hold them: its readers, in the order the decoder needs them.
struct PreviousDecoder {
    PreviousDecoder(const Continuation& c, const fs::path& full)
        : vcdiff(io::open_decompressed(io::open_regular_file(c.previous), c.previous.string()).source),
          full_records(formats::cluster_records_path(full)),
          frames(io::open_regular_file(full), full.string()),
          changed(formats::cluster_records_path(c.previous)),
          decoder(*vcdiff, full_records, frames, changed, c.previous.string())
    {
    }
    std::unique_ptr<io::ByteSource> vcdiff;
    formats::FullRecordsReader full_records;
    io::ZstdFrameReader frames;
    formats::ChangedRecordsReader changed;
    engine::ChangedClusterDecoder decoder;
};

}  // namespace

std::string records_route_refusal(const Continuation& c, const fs::path& full, const ChangedMap& previous_map)
{
    if (std::string refused = full_records_refusal(full); !refused.empty()) {
        return refused;
    }
    if (c.full.empty()) {
        return {};  // the previous backup is the full
    }
    const fs::path changed = formats::cluster_records_path(c.previous);
    if (!fs::exists(fs::symlink_status(changed))) {
        return fmt::format("{} has no changed-cluster records (not written from the full's records)",
                           c.previous.filename().string());
    }
    try {
        formats::ChangedRecordsReader reader(changed);
        // In ascending order (the reader checks it), so equal counts and every record's
        // bit set: the same clusters.
        std::uint64_t count = 0;
        bool same = true;
        while (const auto r = reader.next()) {
            ++count;
            same = same && r->dev_id >= 1 && r->dev_id <= previous_map.device_sizes().size() &&
                   std::uint64_t{r->cluster} * formats::vma::cluster_size <
                       previous_map.device_sizes()[r->dev_id - 1U] &&
                   previous_map.test(r->dev_id - 1U, r->cluster);
        }
        const formats::RecordsTrailer t = reader.finish();
        if (!same || count != previous_map.count()) {
            return fmt::format("the changed-cluster records of {} and its map name other clusters",
                               c.previous.filename().string());
        }
        if (c.manifest.content_size != t.content_size || c.manifest.content_sha256 != t.content_sha256) {
            return fmt::format("the changed-cluster records of {} are not of its content (its manifest)",
                               c.previous.filename().string());
        }
    } catch (const io::Error& e) {
        return fmt::format("the changed-cluster records of {} are damaged ({})",
                           c.previous.filename().string(), e.what());
    }
    return {};
}

RecordsOutcome write_nbd_records_plan(const NbdVmaPlan& plan, const fs::path& full,
                                      const Continuation& continuation, const ChangedMap& previous_map,
                                      formats::ChangedRecordsWriter& changed_records, io::ByteSink& out,
                                      engine::CopyProof& proof)
{
    RecordsOutcome outcome{{}, ChangedMap(plan.disk_sizes())};
    const fs::path records_path = formats::cluster_records_path(full);
    formats::FullRecordsReader records(records_path);
    check_devices(formats::parse_vma_header(records.vma_header(), records_path.string()), plan,
                  records_path.string());
    io::ZstdFrameReader frames(io::open_regular_file(full), full.string());
    std::optional<PreviousDecoder> previous;
    if (!continuation.full.empty()) {
        previous.emplace(continuation, full);
    }

    engine::VcdiffWriter vcdiff(out);
    engine::VmaRecordsEncoder encoder(vcdiff, proof, plan.uuid, "VMA from NBD",
                                      [&](const formats::ClusterRecord& r) {
                                          outcome.changed.set(r.dev_id - 1U, r.cluster);
                                          changed_records.add(r);
                                      });
    encoder.header(formats::vma_header_bytes(plan.uuid, plan.ctime, plan.configs, plan.devices()),
                   records.vma_header());

    WalkerSources sources{records, records_path.string(), frames, full.string(), nullptr, nullptr, {}};
    if (previous) {
        sources.previous = &previous->decoder;
        sources.previous_map = &previous_map;
        sources.previous_name = continuation.previous.string();
    }
    RecordsWalker walker(plan, sources, encoder);
    for (std::size_t i = 0; i < plan.disks.size(); ++i) {
        const NbdDisk& disk = plan.disks[i];
        disk.source->read(disk.reads, [&](std::uint64_t offset, std::span<const std::uint8_t> data) {
            walker.overlay(i, offset, data);
        });
        walker.end_disk(i);
    }
    walker.finish();
    encoder.finish();
    // Trusted only now: the records' checksum covers everything read from them.
    const formats::RecordsTrailer trailer = records.finish();
    vcdiff.finish();

    outcome.clusters = encoder.stats().clusters;
    outcome.extents = walker.extents();
    outcome.extents_touched = walker.extents_touched();
    outcome.previous_changed = walker.previous_changed();
    outcome.frames_read = frames.frames_read() + (previous ? previous->frames.frames_read() : 0);
    outcome.frame_bytes = frames.bytes_read() + (previous ? previous->frames.bytes_read() : 0);
    outcome.content.target_size = encoder.content_size();
    outcome.content.target_sha256 = encoder.finish_digest();
    outcome.content.vma_items_digest = true;
    // The full as its records give it; the caller compares it with the full's manifest.
    outcome.content.base_size = trailer.content_size;
    outcome.content.base_sha256 = trailer.content_sha256;
    outcome.content.stats = vcdiff.stats();
    return outcome;
}

}  // namespace pvediff::commands::detail
