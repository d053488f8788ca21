// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `pvediff dev-make-vma` (hidden; for tests, the demo and the benchmark): archives a
// raw disk image as vzdump would, with clusters in the order QEMU's parallel copy
// workers deliver them (formats/vma_cluster_order.h: the one model of that order, also
// used by the benchmark; two archives of the same disk with different seeds differ in
// order), a fresh uuid per seed, and all-zero blocks omitted.
#include <cstdint>
#include <filesystem>
#include <string>

#include "pvediff/formats/vma_cluster_order.h"
#include "pvediff/io/byte_stream.h"

namespace pvediff::commands {

struct MakeVmaOptions {
    std::filesystem::path image;
    std::uint32_t order_seed = 0;
    std::int64_t ctime = 0;
    std::string device = "drive-scsi0";
    std::string config =
        "boot: order=scsi0\ncores: 2\nmemory: 2048\nname: demo\nscsi0: local:vm-100-disk-0,size=1G\n";
    formats::VmaClusterOrderModel order_model;
};

void make_vma(const MakeVmaOptions& options, io::ByteSink& out);

}  // namespace pvediff::commands
