// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The VMA that `backup --nbd` writes from NBD exports: one device per export in the
// order given, its clusters in ascending order (device 1 first), all-zero blocks left
// out. Each cluster is built from a base and the bytes read over NBD laid over it:
// the base is zeros (a whole-disk read: what is not read is not allocated, so reads as
// zeros) or the same cluster of the previous backup (a dirty-only read: what the
// bitmap does not mark is unchanged since that backup).
#include <cstdint>
#include <string>
#include <vector>

#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/nbd_source.h"

namespace pvediff::commands::detail {

struct NbdDisk {
    std::string device;               // the VMA's device name, e.g. "drive-scsi0"
    io::NbdExport* source = nullptr;  // not owned
    std::vector<io::NbdRange> reads;  // the byte ranges read from it, ascending
};

struct NbdVmaPlan {
    formats::Uuid uuid{};
    std::int64_t ctime = 0;
    std::vector<formats::VmaWriter::Config> configs;
    std::vector<NbdDisk> disks;
};

// Writes the VMA into `out` (without finishing it). `previous`: the previous
// backup's decompressed VMA, which must hold exactly these devices (names, sizes, in
// this order) with every cluster in the same order (as this function writes them); it
// is read up to its end. Null: bases are zeros. Throws io::Error naming the stream or
// the export.
void write_nbd_vma(const NbdVmaPlan& plan, io::ByteSource* previous, io::ByteSink& out);

}  // namespace pvediff::commands::detail
