// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The VMA that `backup --nbd` writes from NBD exports: one device per export in the
// order given, its clusters in ascending order (device 1 first), all-zero blocks left
// out. Each cluster is built from a base and the bytes read over NBD laid over it:
// the base is zeros (a whole-disk read: what is not read is not allocated, so reads as
// zeros) or the same cluster of the previous backup (a dirty-only read: what the
// bitmap does not mark is unchanged since that backup).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_cluster_reader.h"
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

    // Each disk's size in bytes, in order.
    [[nodiscard]] std::vector<std::uint64_t> disk_sizes() const;
    // The VMA's devices: each disk's name and size, in order.
    [[nodiscard]] std::vector<formats::VmaWriter::Device> devices() const;
};

// Writes the VMA into `out` (without finishing it). `previous`: the previous
// backup's decompressed VMA, which must hold exactly these devices (names, sizes, in
// this order) with every cluster in the same order (as this function writes them); it
// is read up to its end. Null: bases are zeros. Throws io::Error naming the stream or
// the export.
void write_nbd_vma(const NbdVmaPlan& plan, io::ByteSource* previous, io::ByteSink& out);

// Shared with the plan path (nbd_plan.cpp), which writes the same VMA.

// Where each cluster's base comes from, before the bytes read over NBD are laid over
// it: cluster `cluster` of device `dev` (1-based), in the order the VMA is written.
using ClusterBase =
    std::function<void(std::uint8_t dev, std::uint64_t cluster, std::span<std::uint8_t> base)>;
// Writes the plan's VMA into `out`: its header, then every device's clusters in
// ascending order, each `base` with the reads laid over it. Finishes the VMA, not `out`.
void write_nbd_clusters(const NbdVmaPlan& plan, io::ByteSink& out, const ClusterBase& base);

// The next cluster of `reader`, which must be cluster `cluster` of device `dev`
// (a VMA this path wrote lists them so); throws naming `name` otherwise.
formats::VmaClusterReader::Cluster next_in_order(formats::VmaClusterReader& reader, std::uint8_t dev,
                                                 std::uint64_t cluster, const std::string& name);
// Throws naming `name` unless `header` lists exactly the plan's devices (names, sizes, order).
void check_devices(const formats::VmaHeader& header, const NbdVmaPlan& plan, const std::string& name);

}  // namespace pvediff::commands::detail
