// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The order in which a vzdump VMA lists a disk's clusters, modelled for test data and
// the benchmark (one model for both: `pvediff dev-make-vma` uses it). Why this model
// and these parameters: docs/vma-format.md, "The cluster order of a real archive".
//
// QEMU's backup job hands the disk out in chunks of `chunk_clusters` consecutive
// clusters, in disk order, to `workers` parallel copy tasks; each task passes its
// chunk to the VMA writer one cluster after another, and the writer, the bottleneck,
// takes whichever task's next cluster is ready. The result: the clusters of the chunks
// in flight interleaved one at a time, the tasks' relative speed random (seeded).
#include <cstdint>
#include <vector>

namespace pvediff::formats {

struct VmaClusterOrderModel {
    unsigned workers = 8;               // chunks in flight at once (measured in the sample)
    std::uint32_t chunk_clusters = 16;  // 1 MiB chunks of 64 KiB clusters
};

// Returns every cluster number from 0 to clusters - 1 exactly once, in delivery
// order; the same seed gives the same order.
std::vector<std::uint32_t> vma_cluster_order(std::uint32_t clusters, std::uint64_t seed,
                                             const VmaClusterOrderModel& model = {});

}  // namespace pvediff::formats
