// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_plan.h"

#include <cstring>
#include <optional>

#include "pvediff/engine/in_step_decoder.h"
#include "pvediff/engine/vma_plan_encoder.h"
#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/error.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::commands::detail {

namespace {

using formats::vma::cluster_size;
// What the in-step decoding of the previous differential keeps of the full: its COPYs
// for an extent read from the full's extent at the same place (at most 59 clusters and
// a header, under 4 MiB), which the full's reader has just read; twice that for slack.
constexpr std::size_t in_step_kept_bytes = std::size_t{8} << 20;

// Where a cluster's base comes from: the previous backup (the full, when the full is
// the previous backup), both read in step with the clusters written.
struct Sources {
    formats::VmaClusterReader& full;
    std::string full_name;
    formats::VmaClusterReader* previous;  // null: the full is the previous backup
    std::string previous_name;
};

// The ClusterAssembler's start for the plan path: the cluster is announced to the plan
// encoder with the full's version, and starts as the previous backup's (the dirty bytes
// are laid over it next).
void start_planned_cluster(engine::VmaPlanEncoder& encoder, const Sources& sources, std::uint8_t dev,
                           std::uint64_t cluster, std::span<std::uint8_t> base)
{
    const auto f = next_in_order(sources.full, dev, cluster, sources.full_name);
    engine::PlannedCluster planned;
    planned.dev_id = dev;
    planned.cluster = static_cast<std::uint32_t>(cluster);
    planned.in_full = true;
    planned.full_offset = f.stored_offset;
    planned.full_stored.assign(f.stored.begin(), f.stored.end());
    if (f.first_in_extent) {
        // The new stream's extents group the same clusters (both written by
        // VmaWriter from every cluster in order): its extent header is likely here.
        planned.full_extent_header.assign(f.extent_header.begin(), f.extent_header.end());
        planned.full_extent_offset = f.extent_offset;
    }
    encoder.expect(std::move(planned));
    if (sources.previous == nullptr) {
        std::memcpy(base.data(), f.data.data(), cluster_size);
        return;
    }
    const auto p = next_in_order(*sources.previous, dev, cluster, sources.previous_name);
    std::memcpy(base.data(), p.data.data(), cluster_size);
}

}  // namespace

PlanOutcome write_nbd_plan(const NbdVmaPlan& plan, const std::filesystem::path& full,
                           const PreviousBackup* previous_backup, const ChangedMap& previous_map,
                           io::ByteSink& out, engine::CopyProof& proof)
{
    PlanOutcome outcome{{}, ChangedMap(plan.disk_sizes()), 0, 0};
    // The clusters dirty today: with the previous map, what may differ from the full.
    ChangedMap dirty(plan.disk_sizes());
    for (std::size_t i = 0; i < plan.disks.size(); ++i) {
        for (const auto& r : plan.disks[i].reads) {
            if (r.length > 0) {
                for (std::uint64_t c = r.offset / cluster_size; c <= (r.offset + r.length - 1) / cluster_size;
                     ++c) {
                    dirty.set(i, c);
                }
            }
        }
    }

    // Decompressed and hashed on the read-ahead thread (the hashing stage moves with
    // its source); its counts are read once the stream has ended.
    auto hashing = std::make_unique<io::HashingSource>(io::open_decompressed(full.string()).source);
    io::HashingSource& full_hash = *hashing;
    auto full_stream = io::make_read_ahead(std::move(hashing));
    // In step (docs/nbd.md): the previous differential copies from the last bytes of
    // the full read, which the full's reader passes on its way.
    std::optional<engine::RecentBytes> recent;
    if (previous_backup != nullptr && previous_backup->in_step) {
        recent.emplace(*full_stream, in_step_kept_bytes);
    }
    formats::VmaClusterReader full_reader(recent ? static_cast<io::ByteSource&>(*recent) : *full_stream);
    check_devices(full_reader.header(), plan, full.string());
    std::optional<PreviousContent> previous_content;
    if (previous_backup != nullptr && previous_backup->in_step) {
        previous_content.emplace(previous_backup->continuation, *recent);
    } else if (previous_backup != nullptr) {
        previous_content.emplace(previous_backup->continuation, previous_backup->spill_dir);
    }
    PreviousContent* previous = previous_content ? &*previous_content : nullptr;
    std::optional<formats::VmaClusterReader> previous_reader;
    if (previous != nullptr) {
        previous_reader.emplace(previous->source());
        check_devices(previous_reader->header(), plan, previous->source().name());
    }
    const Sources sources{full_reader, full.string(), previous_reader ? &*previous_reader : nullptr,
                          previous != nullptr ? previous->source().name() : std::string()};

    engine::VcdiffWriter vcdiff(out);
    engine::VmaPlanEncoder encoder(
        vcdiff, proof, "VMA from NBD", [&](std::uint8_t dev, std::uint32_t cluster) {
            const std::size_t device = dev - 1U;
            outcome.changed.set(device, cluster);
            if (!dirty.test(device, cluster) && !previous_map.test(device, cluster)) {
                ++outcome.outside_map;
            }
        });
    io::HashingSink hashed(encoder);  // the new VMA's SHA-256, for its manifest
    write_nbd_clusters(plan, hashed,
                       [&](std::uint8_t dev, std::uint64_t cluster, std::span<std::uint8_t> base) {
                           start_planned_cluster(encoder, sources, dev, cluster, base);
                       });
    encoder.finish();
    vcdiff.finish();
    if (full_reader.next()) {
        throw io::file_error(full.string(), "holds more clusters than the exports");
    }
    if (previous != nullptr) {
        if (previous_reader->next()) {
            throw io::file_error(previous->source().name(), "holds more clusters than the exports");
        }
        previous->check_complete();  // its content is its manifest's
    }
    // The full's SHA-256 covers all of it (its manifest's is compared by the caller).
    std::vector<std::uint8_t> rest(io::stream_buffer_size);
    while (full_stream->read(rest) != 0) {
    }
    outcome.clusters = encoder.stats().clusters;
    outcome.content.target_size = hashed.bytes();
    outcome.content.target_sha256 = hashed.digest();
    outcome.content.base_size = full_hash.bytes();
    outcome.content.base_sha256 = full_hash.finish();
    outcome.content.stats = vcdiff.stats();
    return outcome;
}

}  // namespace pvediff::commands::detail
