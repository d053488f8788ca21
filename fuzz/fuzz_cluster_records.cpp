// SPDX-License-Identifier: GPL-2.0-or-later
// The readers of cluster records files ("<backup>.pvediff-vma-clusters",
// src/formats/vma_cluster_records.cpp and changed_records.cpp) on an arbitrary file:
// a full's records and a differential's changed records, both read front to back to
// the trailer, as `backup --nbd` and `restore` read them.
//
// Oracles, for a file a reader accepts whole (finish() returned):
//   full:    extents one after the other from the end of the VMA header, in the
//            content and in the file (frames from the header frame's end on), the
//            trailer's sizes where they end, at most one record per slot of an extent
//            header, each cluster's stored blocks inside its extent;
//   changed: records in strictly ascending (device, cluster) order, none of device 0,
//            none with nothing stored and the Adler-32 of something.
// A fuzzer cannot forge a SHA-256: inputs of even length get the file's last 32 bytes
// made the checksum of the bytes before them, so mutations reach the trailer's checks;
// odd ones keep the checksum check itself covered.
#include <algorithm>
#include <tuple>

#include "fuzz_util.h"
#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/sha256.h"

namespace {

using namespace pvediff;

void check_full(const std::filesystem::path& path)
{
    formats::FullRecordsReader reader(path);
    std::uint64_t content_end = reader.vma_header().size();
    std::uint64_t frame_end = reader.header_frame_size();
    FUZZ_CHECK(reader.header_frame_offset() == 0);
    while (const auto e = reader.next()) {
        FUZZ_CHECK(e->offset == content_end);
        FUZZ_CHECK(e->frame_offset == frame_end);
        FUZZ_CHECK(e->frame_size > 0);
        FUZZ_CHECK(e->clusters.size() <= formats::vma::slots_per_extent);
        std::uint64_t stored = e->offset + formats::vma::extent_header_size;
        for (const formats::ClusterRecord& c : e->clusters) {
            FUZZ_CHECK(c.dev_id != 0);
            FUZZ_CHECK(c.stored_offset == stored);
            stored += c.stored_size();
        }
        FUZZ_CHECK(stored == e->offset + e->length());
        content_end = stored;
        frame_end = e->frame_offset + e->frame_size;
    }
    const formats::RecordsTrailer t = reader.finish();
    FUZZ_CHECK(t.content_size == content_end);
    FUZZ_CHECK(t.file_size == frame_end);
}

void check_changed(const std::filesystem::path& path)
{
    formats::ChangedRecordsReader reader(path);
    std::optional<std::tuple<std::uint8_t, std::uint32_t>> last;
    while (const auto c = reader.next()) {
        FUZZ_CHECK(c->dev_id != 0);
        FUZZ_CHECK(c->mask != 0 || c->adler32 == 1);
        const auto key = std::make_tuple(c->dev_id, c->cluster);
        FUZZ_CHECK(!last || *last < key);
        last = key;
    }
    (void)reader.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto file = fuzz::copy(data, size);
    if (size >= 32 && size % 2 == 0) {
        io::Sha256 sha;
        sha.update(std::span(file).first(size - 32));
        const io::Digest sum = sha.finish();
        std::copy(sum.begin(), sum.end(), file.end() - 32);
    }
    const auto path = fuzz::work_dir() / "x.pvediff-vma-clusters";
    fuzz::write_file(path, file);
    // Each reader refuses the other kind in the preamble; both run on every input.
    (void)fuzz::refused([&] { check_full(path); });
    (void)fuzz::refused([&] { check_changed(path); });
    return 0;
}
