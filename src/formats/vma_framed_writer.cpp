// SPDX-License-Identifier: GPL-2.0-or-later
// A full as zstd frames, one per VMA piece (its header, each extent), with its cluster
// records. The caller's thread cuts the stream into pieces and writes the finished
// frames and records in order; FrameWorkers compress and hash the pieces meanwhile.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "extent_slots.h"
#include "frame_workers.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "records_io.h"

namespace pvediff::formats {

namespace {

// Pieces in flight per worker: one being compressed, one waiting, so no worker idles
// while the caller's thread writes.
constexpr std::size_t pieces_per_thread = 2;
constexpr int default_level = 3;  // zstd's, as io::make_compressor

}  // namespace

struct VmaFramedWriter::Impl {
    Impl(io::ByteSink& f, io::ByteSink& r, std::string n, const io::CompressOptions& options)
        : file(f),
          records(r),
          name(std::move(n)),
          workers(options.threads, options.level == 0 ? default_level : options.level, name)
    {
    }

    void add(std::span<const std::uint8_t> data);
    void piece_complete();
    void submit();
    void write_oldest();
    void finish();

    io::ByteSink& file;
    records::Output records;
    std::string name;
    detail::FrameWorkers workers;
    std::vector<std::unique_ptr<detail::FrameJob>> spare;  // written pieces, their buffers reused

    // The piece being cut: its bytes so far, and how many it needs.
    enum class Stage { header_prefix, header, extent_header, extent };
    Stage stage = Stage::header_prefix;
    std::unique_ptr<detail::FrameJob> piece = std::make_unique<detail::FrameJob>();
    std::size_t need = vma::header_prefix_size;
    std::uint64_t offset = 0;  // of the piece in the content
    std::optional<ExtentSlots> slots;

    io::Sha256 content_sha;
    std::uint64_t content_size = 0;
    std::uint64_t file_size = 0;  // frames written so far
    std::uint64_t extents = 0;
    bool finished = false;
};

void VmaFramedWriter::Impl::add(std::span<const std::uint8_t> data)
{
    content_sha.update(data);
    content_size += data.size();
    while (!data.empty()) {
        auto& input = piece->input;
        const std::size_t n = std::min(data.size(), need - input.size());
        input.insert(input.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
        data = data.subspan(n);
        if (input.size() == need) {
            piece_complete();
        }
    }
}

// The piece has the bytes it needed: learn how many more it needs, or send it off.
void VmaFramedWriter::Impl::piece_complete()
{
    auto& input = piece->input;
    switch (stage) {
        case Stage::header_prefix:
            need = vma_header_size(input, name);
            stage = Stage::header;
            if (input.size() < need) {
                return;
            }
            [[fallthrough]];
        case Stage::header:
            slots.emplace(parse_vma_header(input, name));
            piece->is_extent = false;
            piece->infos.clear();
            submit();
            return;
        case Stage::extent_header:
            slots->parse(input, name, offset);
            need = slots->length();
            stage = Stage::extent;
            if (input.size() < need) {
                return;
            }
            [[fallthrough]];
        case Stage::extent:
            piece->is_extent = true;
            piece->infos = slots->infos();
            submit();
            return;
    }
}

void VmaFramedWriter::Impl::submit()
{
    piece->offset = offset;
    offset += piece->input.size();
    workers.submit(std::move(piece));
    if (!spare.empty()) {
        piece = std::move(spare.back());
        spare.pop_back();
    } else {
        piece = std::make_unique<detail::FrameJob>();
    }
    piece->input.clear();
    stage = Stage::extent_header;
    need = vma::extent_header_size;
    while (workers.in_flight() >= pieces_per_thread * workers.threads()) {
        write_oldest();
    }
}

void VmaFramedWriter::Impl::write_oldest()
{
    auto job = workers.take_oldest();
    if (job->error) {
        std::rethrow_exception(job->error);
    }
    if (job->frame.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw io::file_error(name, "a frame of {} bytes", job->frame.size());
    }
    const auto frame_size = static_cast<std::uint32_t>(job->frame.size());
    std::vector<std::uint8_t> out;
    if (!job->is_extent) {
        records.preamble(records::Kind::full);
        io::append_le32(out, static_cast<std::uint32_t>(job->input.size()));
        io::append_le64(out, file_size);
        io::append_le32(out, frame_size);
        out.insert(out.end(), job->input.begin(), job->input.end());
    } else {
        out.push_back(records::tag_item);
        io::append_le64(out, job->offset);
        io::append_le64(out, file_size);
        io::append_le32(out, frame_size);
        out.insert(out.end(), job->input.begin(), job->input.begin() + vma::extent_header_size);
        for (const auto& s : job->sums) {
            io::append_le32(out, s.adler32);
            out.insert(out.end(), s.sha256.begin(), s.sha256.end());
        }
        ++extents;
    }
    file.write(job->frame);
    file_size += frame_size;
    records.write(out);
    spare.push_back(std::move(job));
}

void VmaFramedWriter::Impl::finish()
{
    if (stage != Stage::extent_header || !piece->input.empty()) {
        io::throw_parse_error(name, offset + piece->input.size(),
                              stage == Stage::header_prefix || stage == Stage::header
                                  ? "stream ends inside the vma header"
                                  : "stream ends inside an extent");
    }
    while (workers.in_flight() > 0) {
        write_oldest();
    }
    RecordsTrailer trailer;
    trailer.content_size = content_size;
    trailer.content_sha256 = content_sha.finish();
    trailer.file_size = file_size;
    records.end(extents, trailer);
    file.finish();
    records.finish();
}

VmaFramedWriter::VmaFramedWriter(io::ByteSink& file, io::ByteSink& records, std::string name,
                                 const io::CompressOptions& options)
    : impl_(std::make_unique<Impl>(file, records, std::move(name), options))
{
}

VmaFramedWriter::~VmaFramedWriter() = default;

void VmaFramedWriter::write(std::span<const std::uint8_t> data)
{
    if (impl_->finished) {
        throw io::file_error(impl_->name, "write after finish");
    }
    impl_->add(data);
}

void VmaFramedWriter::finish()
{
    if (impl_->finished) {
        throw io::file_error(impl_->name, "finished twice");
    }
    impl_->finished = true;
    impl_->finish();
}

const std::string& VmaFramedWriter::name() const
{
    return impl_->name;
}

}  // namespace pvediff::formats
