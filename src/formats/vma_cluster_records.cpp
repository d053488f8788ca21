// SPDX-License-Identifier: GPL-2.0-or-later
// The full records' reader (the format: pvediff/formats/vma_cluster_records.h). Every
// field is checked against what the file said before it, so a caller that got an
// extent may use its offsets and frame as they are.
#include "pvediff/formats/vma_cluster_records.h"

#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>
#include <bit>

#include "extent_slots.h"
#include "pvediff/io/error.h"
#include "records_io.h"

namespace pvediff::formats {

namespace {

constexpr std::string_view records_suffix = ".pvediff-vma-clusters";

}  // namespace

std::filesystem::path cluster_records_path(const std::filesystem::path& backup)
{
    std::filesystem::path p = backup;
    p += std::string(records_suffix);
    return p;
}

std::size_t ClusterRecord::stored_size() const
{
    return static_cast<std::size_t>(std::popcount(mask)) * vma::block_size;
}

std::uint64_t ExtentRecord::length() const
{
    std::uint64_t n = vma::extent_header_size;
    for (const ClusterRecord& c : clusters) {
        n += c.stored_size();
    }
    return n;
}

struct FullRecordsReader::Impl {
    explicit Impl(const std::filesystem::path& path) : in(path) {}

    records::Input in;
    std::vector<std::uint8_t> vma_header;
    std::uint32_t header_frame_size = 0;
    std::optional<ExtentSlots> slots;
    std::uint64_t next_offset = 0;  // where the next extent must begin in the content
    std::uint64_t next_frame = 0;   // and its frame in the full
    std::uint64_t extents = 0;
    bool ended = false;
};

FullRecordsReader::FullRecordsReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>(path))
{
    Impl& d = *impl_;
    d.in.preamble(records::Kind::full);
    const std::uint64_t at = d.in.offset();
    auto r = d.in.reader(16);
    const std::uint32_t header_size = r.le32();
    const std::uint64_t frame_offset = r.le64();
    d.header_frame_size = r.le32();
    if (header_size < vma::header_prefix_size || header_size > vma::max_header_size) {
        d.in.fail(at, fmt::format("vma header size {} out of range", header_size));
    }
    if (frame_offset != 0) {
        d.in.fail(at + 4, fmt::format("the header frame begins at {}, not at 0", frame_offset));
    }
    if (d.header_frame_size == 0 || d.header_frame_size > ZSTD_COMPRESSBOUND(header_size)) {
        d.in.fail(at + 12, fmt::format("header frame size {} out of range", d.header_frame_size));
    }
    const std::uint64_t header_at = d.in.offset();
    const auto header = d.in.take(header_size);
    d.vma_header.assign(header.begin(), header.end());
    const std::string header_name = fmt::format("{} (the vma header at offset {})", d.in.name(), header_at);
    if (vma_header_size(d.vma_header, header_name) != header_size) {
        d.in.fail(header_at, "the vma header's size is not the one recorded");
    }
    d.slots.emplace(parse_vma_header(d.vma_header, header_name));
    d.next_offset = header_size;
    d.next_frame = d.header_frame_size;
}

FullRecordsReader::~FullRecordsReader() = default;

std::span<const std::uint8_t> FullRecordsReader::vma_header() const
{
    return impl_->vma_header;
}

std::uint64_t FullRecordsReader::header_frame_offset() const
{
    return 0;
}

std::uint32_t FullRecordsReader::header_frame_size() const
{
    return impl_->header_frame_size;
}

std::optional<ExtentRecord> FullRecordsReader::next()
{
    Impl& d = *impl_;
    if (d.ended) {
        return std::nullopt;
    }
    const std::uint64_t at = d.in.offset();
    if (!d.in.item()) {
        d.ended = true;
        return std::nullopt;
    }
    auto r = d.in.reader(records::extent_fixed_size - 1);
    ExtentRecord e;
    e.offset = r.le64();
    e.frame_offset = r.le64();
    e.frame_size = r.le32();
    const std::uint64_t header_at = r.offset();
    const auto header = r.bytes(vma::extent_header_size);
    std::copy(header.begin(), header.end(), e.header.begin());
    if (e.offset != d.next_offset) {
        d.in.fail(at + 1, fmt::format("extent at content offset {}, the previous one ends at {}", e.offset,
                                      d.next_offset));
    }
    if (e.frame_offset != d.next_frame) {
        d.in.fail(at + 9,
                  fmt::format("frame at {}, the previous one ends at {}", e.frame_offset, d.next_frame));
    }
    d.slots->parse(e.header, d.in.name(), header_at);
    const std::size_t length = d.slots->length();
    if (e.frame_size == 0 || e.frame_size > ZSTD_COMPRESSBOUND(length)) {
        d.in.fail(at + 17,
                  fmt::format("frame size {} out of range for an extent of {} bytes", e.frame_size, length));
    }
    const auto& infos = d.slots->infos();
    const std::uint64_t sums_at = d.in.offset();
    auto s = d.in.reader(infos.size() * records::sums_size);
    std::uint64_t stored = e.offset + vma::extent_header_size;
    e.clusters.reserve(infos.size());
    for (const std::uint64_t info : infos) {
        ClusterRecord c;
        c.dev_id = info_dev(info);
        c.cluster = info_cluster(info);
        c.mask = info_mask(info);
        c.adler32 = s.le32();
        const auto sha = s.bytes(c.sha256.size());
        std::copy(sha.begin(), sha.end(), c.sha256.begin());
        c.stored_offset = stored;
        stored += c.stored_size();
        if (c.mask == 0 && (c.adler32 != 1 || c.sha256 != records::empty_sha256())) {
            d.in.fail(sums_at + (e.clusters.size() * records::sums_size),
                      "a cluster with nothing stored has the checksums of something");
        }
        e.clusters.push_back(c);
    }
    d.next_offset = e.offset + length;
    d.next_frame = e.frame_offset + e.frame_size;
    ++d.extents;
    return e;
}

RecordsTrailer FullRecordsReader::finish()
{
    Impl& d = *impl_;
    const std::uint64_t at = d.in.offset();
    if (!d.ended) {
        d.in.fail(at, "finish() before the last extent was read");
    }
    const RecordsTrailer t = d.in.end(d.extents);
    if (t.content_size != d.next_offset) {
        d.in.fail(at + 8,
                  fmt::format("content size {}, the extents end at {}", t.content_size, d.next_offset));
    }
    if (t.file_size != d.next_frame) {
        d.in.fail(at + 48, fmt::format("file size {}, the frames end at {}", t.file_size, d.next_frame));
    }
    return t;
}

}  // namespace pvediff::formats
