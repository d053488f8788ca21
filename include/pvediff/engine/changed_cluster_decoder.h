// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The stored blocks of the clusters a plan-written differential changed, decoded from
// that differential alone (docs/nbd.md, "Day 2 and later without the full's read"):
// what the next run needs of it, at a cost that grows with the differential, not with
// the guest.
//
// The previous VMA's layout is known without decoding it: both VMAs group the same
// clusters into extents (every cluster of every device in order, 58 per extent), a
// clean cluster has the full's mask (full records) and a changed one its own (changed
// records), so each changed cluster's target range is computed. The differential's
// windows are walked in order; only the instructions that produce those ranges are
// carried out: ADD/RUN bytes as they are, COPYs from the full's bytes, which are read
// by random access (io::ZstdFrameReader, one extent's frame at a time, checked against
// the full's records). Every decoded cluster's SHA-256 is compared with its changed
// record's. A COPY from the target window, a COPY of the full's bytes outside the
// extent that holds the same cluster, or a window without its Adler-32 is refused with
// engine::InStepRefused (in_step_decoder.h) naming the differential: the caller falls
// back to the route that decodes it whole.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/zstd_frame_reader.h"

namespace pvediff::engine {

struct DecodedCluster {
    formats::ClusterRecord record;     // its changed record (mask, Adler-32, SHA-256)
    std::vector<std::uint8_t> stored;  // its stored blocks, checked against the record
};

class ChangedClusterDecoder {
public:
    // `vcdiff`: the differential's VCDIFF, decompressed, read front to back.
    // `full_records`: the full's records, a reader of its own, at its start.
    // `full`: random access to the full. `changed`: the differential's changed records,
    // at their start. `name` names the differential in messages.
    ChangedClusterDecoder(io::ByteSource& vcdiff, formats::FullRecordsReader& full_records,
                          io::ZstdFrameReader& full, formats::ChangedRecordsReader& changed, std::string name);
    ~ChangedClusterDecoder();
    ChangedClusterDecoder(const ChangedClusterDecoder&) = delete;
    ChangedClusterDecoder& operator=(const ChangedClusterDecoder&) = delete;

    // The next changed cluster, in ascending (dev_id, cluster) order; nullopt after the
    // last, once the differential has been read to its end, both records' finish()
    // passed and the target length equals the changed records' content_size.
    std::optional<DecodedCluster> next();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pvediff::engine
