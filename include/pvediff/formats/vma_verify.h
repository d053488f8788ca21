// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Strict VMA verification in one streaming pass: everything Proxmox's `vma verify`
// checks (header magic, version, sizes, MD5, blob pointers; per extent magic,
// reserved field, uuid, MD5, block_count against the masks, enough data, no duplicate
// cluster, no cluster past the device end) plus coverage: every cluster of every
// device present exactly once (an archive cut at an extent boundary passes `vma
// verify` but not this). Memory: the header plus one bit per cluster (in 8 KiB pages,
// allocated only where clusters are seen) plus one read buffer. The bits are bounded by
// the header's device sizes, and those by max_coverage_bytes: a header whose devices
// need more (or a device beyond 2^32 clusters, what the format can address) is a
// structure problem, and its extents are not read. A cluster at or past its device's
// end is a structure problem too; it is never recorded.
#include <cstdint>
#include <string>
#include <vector>

#include "pvediff/formats/vma.h"
#include "pvediff/io/byte_stream.h"

namespace pvediff::formats {

struct VmaDeviceCoverage {
    std::uint8_t id = 0;
    std::string name;
    std::uint64_t size = 0;               // bytes
    std::uint64_t clusters_expected = 0;  // ceil(size / 64 KiB)
    std::uint64_t clusters_seen = 0;      // distinct clusters listed
    std::uint64_t clusters_missing = 0;   // expected - seen
};

struct VmaVerifyReport {
    bool ok = false;            // structure_ok && complete
    bool structure_ok = false;  // what `vma verify` checks
    bool complete = false;      // every cluster of every device exactly once
    bool header_ok = false;     // header parsed; `header` is valid only then
    VmaHeader header;
    std::vector<VmaDeviceCoverage> devices;
    // "offset N: message" strings, at most max_problems; the rest only counted.
    std::vector<std::string> problems;
    std::uint64_t problems_omitted = 0;
    std::uint64_t extents = 0;        // extent headers read
    std::uint64_t blocks = 0;         // stored 4 KiB blocks (sum of block_count)
    std::uint64_t clusters_seen = 0;  // over all devices
    std::uint64_t clusters_expected = 0;
    std::uint64_t clusters_missing = 0;
    std::uint64_t bytes = 0;  // stream bytes read
};

struct VmaVerifyOptions {
    std::size_t max_problems = 100;
    // Bitmap bytes for the coverage check of one archive: 128 MiB checks 64 TiB of
    // disks (a bit per 64 KiB cluster), far beyond what vzdump writes into one VMA.
    std::uint64_t max_coverage_bytes = std::uint64_t{128} << 20;
};

// Always reads `source` to its end (after a structural error that leaves nothing
// interpretable, the rest is only counted). Content problems go into the report;
// only I/O errors of the source are thrown (io::Error).
VmaVerifyReport verify_vma(io::ByteSource& source, const VmaVerifyOptions& options = {});

}  // namespace pvediff::formats
