// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The differential of a VMA written from the full's cluster records and the clusters
// that changed, without the bytes of the clusters that did not (docs/nbd.md, "The
// records route"). The new VMA groups the same clusters into extents as the full
// (both list every cluster of every device in order), so it is written extent by
// extent against the full's extent at the same place:
//   - the VMA header: matched byte by byte against the full's header as its records
//     hold it (FineMatcher; they differ in the uuid, the time and the MD5), literals
//     for the rest;
//   - an extent header, built from the new masks (formats::vma_extent_header): compared
//     in place with the full's recorded header (detail::match_in_place: its fields keep
//     their place), COPYs of runs of 8 or more equal bytes, literals for the rest;
//   - a clean cluster (its new version not given, or given and equal to the full's in
//     mask and SHA-256): a COPY of the full's stored blocks at the recorded offset, its
//     Adler-32 the recorded one; neighbours contiguous in the full are one COPY
//     (adler32_combine), cut at a cluster boundary where the open window is full (a
//     window closed early costs a window header and resets the address caches);
//   - a changed cluster: its new stored blocks matched against the full's stored blocks
//     of the same cluster (given by the caller, checked against the record), literals
//     for the rest.
// Every instruction goes into the CopyProof. For a clean COPY the two hashes are one
// keyed hash over the records it stands for (their offsets and SHA-256s): check_proof
// then proves the written file follows this plan (every byte accounted for, every COPY
// on its recorded range, every window's Adler-32), and what it trusts for the clean
// bytes is the full's records (written from the full's bytes when it was written).
// The content's size and its item digest (formats::VmaItemDigest) are computed here
// from the same items: no whole VMA is generated.
// Changed clusters and the VMA header are matched on two worker threads and written
// in order (detail::OrderedFineMatching): what is written is the same as on one.
// Memory: the caller's extent (the changed clusters' stored blocks, under 4 MiB) and
// up to 8 MiB of clusters queued for matching.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_writer.h"
#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/formats/vma_item_digest.h"

namespace pvediff::engine {

namespace detail {
class OrderedFineMatching;
}

// A cluster's new version, when it may differ from the full's.
struct NewClusterVersion {
    std::uint16_t mask = 0;
    std::vector<std::uint8_t> stored;  // popcount(mask) blocks
    // The full's stored blocks of this cluster, checked against its record by the
    // caller (matched against for COPYs); empty when the full stores none.
    std::span<const std::uint8_t> full_stored;
};

struct VmaRecordsStats {
    std::uint64_t clusters = 0;
    std::uint64_t copied_clusters = 0;  // the full's, by the records
    std::uint64_t changed_clusters = 0;
    std::uint64_t copy_runs = 0;
    std::uint64_t extents = 0;
};

class VmaRecordsEncoder {
public:
    // Told each cluster whose new version is not the full's: its changed record.
    using OnChanged = std::function<void(const formats::ClusterRecord& record)>;
    VmaRecordsEncoder(VcdiffWriter& writer, CopyProof& proof, const formats::Uuid& uuid, std::string name,
                      OnChanged on_changed);
    ~VmaRecordsEncoder();
    VmaRecordsEncoder(const VmaRecordsEncoder&) = delete;
    VmaRecordsEncoder& operator=(const VmaRecordsEncoder&) = delete;

    // The new VMA header, first, and the full's (at offset 0 of the full).
    void header(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t> full_header);
    // The next extent: `full` is the full's extent at the same place; `versions` has one
    // entry per cluster of it (nullopt: clean, the full's version).
    void extent(const formats::ExtentRecord& full,
                std::span<const std::optional<NewClusterVersion>> versions);

    // Writes what is still queued: after the last extent, before the writer's finish().
    void finish();

    [[nodiscard]] const VmaRecordsStats& stats() const { return stats_; }
    [[nodiscard]] std::uint64_t content_size() const { return size_; }
    // The new VMA's item digest (once, after finish()).
    io::Digest finish_digest();

private:
    // A clean cluster of the open run.
    struct RunCluster {
        std::uint64_t offset;  // of its stored blocks in the full
        std::uint64_t length;
        std::uint32_t adler32;
        io::Digest sha256;
    };
    void copy_clean(const formats::ClusterRecord& record);
    void flush_run();
    // On the writing side: `run` as COPYs that fill the open window, each with its
    // combined Adler-32 and the keyed hash of its records.
    void write_run(std::span<const RunCluster> run);
    // Queues `target` to be matched against `base` (at full_offset in the full).
    void match(std::span<const std::uint8_t> target, std::span<const std::uint8_t> base,
               std::uint64_t full_offset);

    VcdiffWriter& writer_;
    CopyProof& proof_;
    formats::Uuid uuid_;
    std::string name_;
    OnChanged on_changed_;
    VmaRecordsStats stats_;
    formats::VmaItemDigest digest_;
    std::uint64_t size_ = 0;
    bool header_done_ = false;
    bool finished_ = false;
    // The open run of clean clusters, contiguous in the full.
    std::vector<RunCluster> run_;
    // Last: its workers stop before anything they write to goes.
    std::unique_ptr<detail::OrderedFineMatching> matching_;
};

}  // namespace pvediff::engine
