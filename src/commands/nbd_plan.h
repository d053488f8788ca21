// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `backup --nbd`'s differential written from a cluster plan (docs/nbd.md, "The plan
// path"): the VMA of nbd_vma_stream.h is generated cluster by cluster as before (the
// dirty bytes from NBD laid over the previous backup's cluster), and its differential
// against the full is written by engine::VmaPlanEncoder from what is known of each
// cluster: the full's stored blocks of it, read in step from the full's stream
// (a full `backup --nbd` wrote lists every cluster in ascending order, as the new
// stream does). No chunk encoder reads the new stream; the full is read once.
#include <cstdint>
#include <filesystem>

#include "nbd_changed_map.h"
#include "nbd_previous.h"
#include "nbd_vma_stream.h"
#include "pvediff/commands/backup.h"

namespace pvediff::commands::detail {

struct PlanOutcome {
    PlannedContent content;
    ChangedMap changed;  // the clusters not COPYed whole from the full: this backup's map
    // Changed clusters neither dirty today nor in the previous backup's map: what that
    // map missed (the previous backup's content differs from the full there; encoded
    // from their bytes all the same).
    std::uint64_t outside_map = 0;
    std::uint64_t clusters = 0;
};

// The previous backup when it is a differential, and how its content is had.
struct PreviousBackup {
    const Continuation& continuation;
    std::filesystem::path spill_dir;  // for its rebuild by the general decoder
    // Decoded in step with the plan's read of the full (written_by_plan): no second
    // decompression of the full. Throws engine::InStepRefused, naming the previous
    // backup, when it copies from elsewhere; the caller then runs again without.
    bool in_step = false;
};

// `previous`: null when the previous backup is the full itself (then the full's stream
// gives both). Throws io::Error naming the full, the previous backup or the export.
PlanOutcome write_nbd_plan(const NbdVmaPlan& plan, const std::filesystem::path& full,
                           const PreviousBackup* previous, const ChangedMap& previous_map, io::ByteSink& out,
                           engine::CopyProof& proof);

}  // namespace pvediff::commands::detail
