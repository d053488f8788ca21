// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `backup --nbd`'s records route (docs/nbd.md, "The records route"): the differential
// written from the full's cluster records (formats/vma_cluster_records.h) and the
// clusters that changed, at a cost that grows with the change. Read: the dirty extents
// over NBD; the full's records whole (tens of bytes per cluster); of the full itself
// only the frames of the extents that hold a dirty or changed cluster; on day 2 and
// later the previous differential's changed clusters (engine::ChangedClusterDecoder).
// A clean cluster is never read: its COPY, Adler-32 and item hash are its record's.
#include <cstdint>
#include <filesystem>
#include <string>

#include "nbd_changed_map.h"
#include "nbd_previous.h"
#include "nbd_vma_stream.h"
#include "pvediff/commands/backup.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/formats/vma_cluster_records.h"

namespace pvediff::commands::detail {

// What `nbd-plan` says of a differential the records route wrote (after "N of M
// clusters changed since the full").
inline constexpr const char* records_route_note = ", from the full's records";

struct RecordsOutcome {
    PlannedContent content;  // target_sha256: the new VMA's item digest
    ChangedMap changed;      // the clusters whose version is not the full's
    std::uint64_t clusters = 0;
    std::uint64_t extents = 0;
    std::uint64_t extents_touched = 0;   // holding a cluster dirty today or changed since the full
    std::uint64_t frames_read = 0;       // frames of the full decompressed (this run and the decoder)
    std::uint64_t frame_bytes = 0;       // their compressed bytes
    std::uint64_t previous_changed = 0;  // clusters decoded from the previous differential
};

// Why the records route cannot be taken for a run that continues from `c` against the
// full `full` (empty: it can). Reads the full's records whole (and, when the previous
// backup is a differential, its changed records) and checks them: checksums, the
// content they stand for against the manifests, and that the previous backup's map
// names exactly its changed clusters.
std::string records_route_refusal(const Continuation& c, const std::filesystem::path& full,
                                  const ChangedMap& previous_map);

// Writes the differential against `full` into `out`, every instruction recorded in
// `proof`, each changed cluster's record into `changed_records` (not committed).
// `previous_map`: the previous backup's map (checked against its changed records when
// it is a differential). Throws io::Error naming the file at fault; throws
// engine::InStepRefused when the previous differential cannot be decoded this way.
RecordsOutcome write_nbd_records_plan(const NbdVmaPlan& plan, const std::filesystem::path& full,
                                      const Continuation& continuation, const ChangedMap& previous_map,
                                      formats::ChangedRecordsWriter& changed_records, io::ByteSink& out,
                                      engine::CopyProof& proof);

}  // namespace pvediff::commands::detail
