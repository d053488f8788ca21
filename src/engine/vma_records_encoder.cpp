// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/vma_records_encoder.h"

#include <fmt/format.h>
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>

#include "fine_match_pool.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"

namespace pvediff::engine {

namespace vma = formats::vma;

namespace {

io::Digest sha256_of(std::span<const std::uint8_t> bytes)
{
    io::Sha256 sha;
    sha.update(bytes);
    return sha.finish();
}

std::size_t stored_bytes(std::uint16_t mask)
{
    return static_cast<std::size_t>(std::popcount(mask)) * vma::block_size;
}

// Matching beside the thread that reads and hashes the clusters: on a dirty-only
// backup it was a third of the run's CPU (clusters rewritten with new bytes).
constexpr std::size_t cluster_match_threads = 2;
constexpr std::size_t max_queued_cluster_bytes = std::size_t{8} << 20;
// An extent header's fields are 8 bytes or more (its first three together, a cluster's
// entry); a shorter run of equal bytes is a coincidence within the new MD5.
constexpr std::size_t in_place_min_copy = 8;

}  // namespace

VmaRecordsEncoder::VmaRecordsEncoder(VcdiffWriter& writer, CopyProof& proof, const formats::Uuid& uuid,
                                     std::string name, OnChanged on_changed)
    : writer_(writer),
      proof_(proof),
      uuid_(uuid),
      name_(std::move(name)),
      on_changed_(std::move(on_changed)),
      matching_(std::make_unique<detail::OrderedFineMatching>(writer, &proof, cluster_match_threads,
                                                              max_queued_cluster_bytes))
{
}

VmaRecordsEncoder::~VmaRecordsEncoder() = default;

void VmaRecordsEncoder::finish()
{
    flush_run();
    matching_->finish();
    finished_ = true;
}

io::Digest VmaRecordsEncoder::finish_digest()
{
    if (!finished_) {
        throw std::logic_error("VmaRecordsEncoder: finish_digest() before finish()");
    }
    return digest_.finish();
}

void VmaRecordsEncoder::match(std::span<const std::uint8_t> target, std::span<const std::uint8_t> base,
                              std::uint64_t full_offset)
{
    auto job = matching_->job();
    job->target.assign(target.begin(), target.end());
    job->add_base(base, full_offset);
    matching_->submit(std::move(job));
}

void VmaRecordsEncoder::header(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t> full_header)
{
    if (header_done_) {
        throw io::Error(fmt::format("{}: a second VMA header", name_));
    }
    // The guest config and the device names are the full's unless they changed: 12 KiB
    // and more of literals in every differential otherwise.
    match(bytes, full_header, 0);
    digest_.add_item(bytes);
    size_ += bytes.size();
    header_done_ = true;
}

void VmaRecordsEncoder::extent(const formats::ExtentRecord& full,
                               std::span<const std::optional<NewClusterVersion>> versions)
{
    if (!header_done_ || finished_ || versions.size() != full.clusters.size()) {
        throw io::Error(fmt::format("{}: extent at {} of the full: {} versions for {} clusters", name_,
                                    full.offset, versions.size(), full.clusters.size()));
    }
    // What each cluster becomes: clean (the full's record) or changed (its new record).
    struct Planned {
        bool clean = true;
        formats::ClusterRecord record;
    };
    std::vector<Planned> planned(versions.size());
    std::vector<std::uint64_t> infos;
    std::uint32_t blocks = 0;
    for (std::size_t i = 0; i < versions.size(); ++i) {
        const formats::ClusterRecord& f = full.clusters[i];
        Planned& p = planned[i];
        p.record = f;
        if (versions[i]) {
            const NewClusterVersion& v = *versions[i];
            if (v.stored.size() != stored_bytes(v.mask)) {
                throw io::Error(fmt::format("{}: cluster {} of device {}: {} stored bytes for mask {:#06x}",
                                            name_, f.cluster, f.dev_id, v.stored.size(), v.mask));
            }
            const io::Digest sha = sha256_of(v.stored);
            // Equal to the full's in mask and SHA-256: the full's version after all.
            if (v.mask != f.mask || sha != f.sha256) {
                p.clean = false;
                p.record.mask = v.mask;
                p.record.sha256 = sha;
                p.record.adler32 = libdeflate_adler32(1, v.stored.data(), v.stored.size());
                p.record.stored_offset = 0;
            }
        }
        infos.push_back((std::uint64_t{p.record.mask} << 48) | (std::uint64_t{f.dev_id} << 32) | f.cluster);
        blocks += static_cast<std::uint32_t>(std::popcount(p.record.mask));
    }
    const auto header = formats::vma_extent_header(uuid_, infos, static_cast<std::uint16_t>(blocks));
    // Differs from the full's in the uuid, the MD5 and the changed clusters' masks,
    // each in its place: compared in place, the rest (and its first 8 bytes, which
    // continue a COPY of the full's cluster before it) is copied.
    auto job = std::make_unique<detail::FineMatchJob>();
    job->target.assign(header.begin(), header.end());
    job->add_base(full.header, full.offset);
    detail::match_in_place(*job, in_place_min_copy);
    matching_->submit_matched(std::move(job));
    digest_.add_item(header);
    size_ += header.size();
    ++stats_.extents;

    for (std::size_t i = 0; i < versions.size(); ++i) {
        const Planned& p = planned[i];
        ++stats_.clusters;
        if (p.clean) {
            ++stats_.copied_clusters;
            copy_clean(p.record);
            continue;
        }
        flush_run();
        ++stats_.changed_clusters;
        on_changed_(p.record);
        const NewClusterVersion& v = *versions[i];
        size_ += v.stored.size();
        if (v.stored.empty()) {
            continue;  // no item
        }
        digest_.add_item_hash(p.record.sha256);
        if (!v.full_stored.empty() && v.full_stored.size() != full.clusters[i].stored_size()) {
            throw io::Error(
                fmt::format("{}: cluster {} of device {}: the full's blocks given are not its record's",
                            name_, p.record.cluster, p.record.dev_id));
        }
        match(v.stored, v.full_stored, full.clusters[i].stored_offset);
    }
    flush_run();
    matching_->write_ready();
}

void VmaRecordsEncoder::copy_clean(const formats::ClusterRecord& record)
{
    const std::size_t n = record.stored_size();
    if (n == 0) {
        return;  // nothing stored, nothing to copy, no item
    }
    digest_.add_item_hash(record.sha256);
    size_ += n;
    // A run is cut into COPYs that fit the windows when written (write_run), and ends
    // with its extent at the latest: it holds at most one extent's clusters.
    if (!run_.empty() && run_.back().offset + run_.back().length != record.stored_offset) {
        flush_run();
    }
    run_.push_back({record.stored_offset, n, record.adler32, record.sha256});
}

void VmaRecordsEncoder::flush_run()
{
    if (run_.empty()) {
        return;
    }
    // Where the window stands is known only when the queued matches before it are
    // written: the run is cut there.
    matching_->then([this, run = std::move(run_)] { write_run(run); });
    ++stats_.copy_runs;
    run_.clear();
}

void VmaRecordsEncoder::write_run(std::span<const RunCluster> run)
{
    std::uint64_t left = 0;  // the run's bytes not yet written
    for (const RunCluster& c : run) {
        left += c.length;
    }
    while (!run.empty()) {
        // What is left of the run, if it fits one window, is one piece: in the open
        // window if it fits there, else it opens the next (copy_summed closes the open
        // one). Otherwise as much as the open window takes; a first cluster that does
        // not fit opens a new window, which takes up to a whole piece.
        const std::uint64_t most = writer_.max_summed_copy();
        const std::uint64_t room = writer_.room();
        const std::uint64_t budget = left <= most                 ? left
                                     : run.front().length <= room ? std::min(room, most)
                                                                  : most;
        std::size_t count = 0;
        std::uint64_t length = 0;
        std::uint32_t adler = 1;
        ProofKey::Stream hash(proof_.key());
        for (; count < run.size() && length + run[count].length <= budget; ++count) {
            const RunCluster& c = run[count];
            adler =
                static_cast<std::uint32_t>(adler32_combine(adler, c.adler32, static_cast<z_off_t>(c.length)));
            length += c.length;
            // The piece's hash stands for both sides: the records it copies, in order.
            std::array<std::uint8_t, 16> where{};
            io::store_le64(where.data(), c.offset);
            io::store_le64(where.data() + 8, c.length);
            hash.update(where);
            hash.update(c.sha256);
        }
        const ProofHash h = hash.digest();
        writer_.copy_summed(run.front().offset, length, adler);
        proof_.copy(run.front().offset, length, adler, h, h);
        run = run.subspan(count);
        left -= length;
    }
}

}  // namespace pvediff::engine
