// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The differential of a VMA that its writer generates cluster by cluster (`backup
// --nbd`), written straight from what the generator knows of each cluster instead of
// through the chunk encoder (docs/nbd.md, "The plan path"):
//   - the VMA header: literals (ADD); an extent header: matched byte by byte against
//     the full's extent header that began with the same cluster, literals for the rest;
//   - a cluster whose stored blocks are byte for byte the full's: one COPY of the
//     full's stored blocks (neighbours that follow each other in the full as in the
//     new stream: one COPY for the run);
//   - any other cluster: its stored blocks matched byte by byte against the full's
//     stored blocks of the same cluster (FineMatcher), literals where nothing matches.
// Every COPY is from the full's extent at the same place in the stream (the extent
// header or the cluster's own stored blocks): the next run decodes this differential in
// step with its own read of the full on that ground (in_step_decoder.h); a COPY from
// elsewhere would make it fall back to the general decoder.
// Every instruction is recorded in the CopyProof (copy_proof.h) with the keyed hashes
// of both sides as seen here, so check_proof() proves the written file as for the chunk
// encoder.
//
// Use: announce each cluster with expect() (the full's version of it, as read from the
// full's stream) before the VMA writer is handed it, and make this object the VMA
// writer's sink. Memory: one extent of the new stream (under 4 MiB) and the full's
// stored blocks of the clusters announced but not yet written (at most two extents).
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_writer.h"
#include "pvediff/io/byte_stream.h"

namespace pvediff::engine {

struct PlannedCluster {
    std::uint8_t dev_id = 0;
    std::uint32_t cluster = 0;
    bool in_full = false;                   // the full holds this cluster
    std::uint64_t full_offset = 0;          // where its stored blocks begin in the full's stream
    std::vector<std::uint8_t> full_stored;  // the full's stored blocks of it, as read
    // When this cluster comes first in an extent of the full: that extent's header and
    // its offset. The new stream's extent that begins with it is matched against it
    // (the two differ in the uuid, the MD5 and the masks of changed clusters only).
    std::vector<std::uint8_t> full_extent_header;
    std::uint64_t full_extent_offset = 0;
};

struct VmaPlanStats {
    std::uint64_t clusters = 0;
    std::uint64_t copied_clusters = 0;   // the full's stored blocks, unchanged
    std::uint64_t changed_clusters = 0;  // fine-matched or literal
    std::uint64_t copy_runs = 0;
    std::uint64_t literal_header_bytes = 0;  // VMA header and extent headers
};

class VmaPlanEncoder final : public io::ByteSink {
public:
    // `on_changed` is told each cluster that is not the full's byte for byte.
    using OnChanged = std::function<void(std::uint8_t dev_id, std::uint32_t cluster)>;
    VmaPlanEncoder(VcdiffWriter& writer, CopyProof& proof, std::string name, OnChanged on_changed);

    void expect(PlannedCluster cluster);
    // The new VMA's bytes, as its writer writes them. Throws io::Error naming the stream
    // and the offset when a cluster comes that was not announced (in that order).
    void write(std::span<const std::uint8_t> data) override;
    // Checks the stream ended at an extent boundary with every announced cluster
    // written. Does not finish the VCDIFF writer.
    void finish() override;
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] const VmaPlanStats& stats() const { return stats_; }

private:
    bool process();  // one header or extent from pending_, if complete
    void process_extent(std::span<const std::uint8_t> extent, const std::vector<std::uint64_t>& infos);
    void literal(std::span<const std::uint8_t> bytes);
    void flush_run();

    VcdiffWriter& writer_;
    CopyProof& proof_;
    std::string name_;
    OnChanged on_changed_;
    VmaPlanStats stats_;
    std::deque<PlannedCluster> expected_;
    std::vector<std::uint8_t> pending_;  // bytes of the new stream not yet encoded
    std::uint64_t offset_ = 0;           // of pending_[0] in the new stream
    bool header_done_ = false;
    // The open run of unchanged clusters: target bytes (inside the current extent),
    // equal to the full's from run_full_offset_.
    std::span<const std::uint8_t> run_target_;
    std::uint64_t run_full_offset_ = 0;
};

}  // namespace pvediff::engine
