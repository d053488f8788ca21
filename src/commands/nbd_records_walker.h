// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The records route's walk over the clusters (nbd_records_plan.h): every cluster of
// every device in order, in step with the full's extents as its records list them,
// each one clean (nothing read), dirty today (its previous version with the bytes read
// over NBD laid over it) or changed since the full (its previous version from the
// previous differential); each finished extent goes to the encoder.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nbd_changed_map.h"
#include "nbd_vma_stream.h"
#include "pvediff/engine/changed_cluster_decoder.h"
#include "pvediff/engine/vma_records_encoder.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/zstd_frame_reader.h"

namespace pvediff::commands::detail {

struct WalkerSources {
    formats::FullRecordsReader& records;
    std::string records_name;
    io::ZstdFrameReader& full;
    std::string full_name;
    // The previous differential's changed clusters (null: the previous backup is the
    // full), and its map, which must name exactly them.
    engine::ChangedClusterDecoder* previous = nullptr;
    const ChangedMap* previous_map = nullptr;
    std::string previous_name;
};

class RecordsWalker {
public:
    RecordsWalker(const NbdVmaPlan& plan, const WalkerSources& sources, engine::VmaRecordsEncoder& encoder);

    // `data`, read at `offset` of disk `disk` (0-based), in ascending order.
    void overlay(std::size_t disk, std::uint64_t offset, std::span<const std::uint8_t> data);
    // The disk's reads are done: its remaining clusters.
    void end_disk(std::size_t disk);
    // After the last disk: the full's records and the previous differential hold no
    // more clusters.
    void finish();

    [[nodiscard]] std::uint64_t extents() const { return extents_; }
    [[nodiscard]] std::uint64_t extents_touched() const { return touched_; }
    [[nodiscard]] std::uint64_t previous_changed() const { return previous_changed_; }

private:
    void advance_to(std::size_t disk, std::uint64_t cluster);
    void position();  // the slot of the cursor's cluster, loading the next extent
    void finalize();  // the cursor's cluster, then the cursor moves on
    void begin_dirty();
    std::span<const std::uint8_t> full_stored();   // of the cursor's cluster, checked
    const engine::DecodedCluster* decoded_here();  // the previous version, if changed

    const NbdVmaPlan& plan_;
    WalkerSources sources_;
    engine::VmaRecordsEncoder& encoder_;
    std::vector<std::uint64_t> counts_;  // clusters per disk
    std::size_t disk_ = 0;               // the cursor
    std::uint64_t cluster_ = 0;
    std::optional<formats::ExtentRecord> extent_;
    std::size_t slot_ = 0;
    std::vector<std::optional<engine::NewClusterVersion>> versions_;
    std::span<const std::uint8_t> frame_;  // the extent's, once decompressed
    bool frame_loaded_ = false;
    std::vector<std::uint8_t> buffer_;  // the dirty cluster at the cursor
    bool dirty_ = false;
    std::span<const std::uint8_t> cursor_full_;      // the full's blocks of the dirty cluster
    bool decoded_used_ = false;                      // the cursor's previous version came from the decoder
    std::optional<engine::DecodedCluster> pending_;  // the decoder's next cluster
    bool pending_fetched_ = false;
    std::uint64_t extents_ = 0;
    std::uint64_t touched_ = 0;
    std::uint64_t previous_changed_ = 0;
};

}  // namespace pvediff::commands::detail
