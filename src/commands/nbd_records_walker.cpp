// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_records_walker.h"

#include <algorithm>
#include <cstring>

#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"

namespace pvediff::commands::detail {

namespace {

using formats::vma::cluster_size;
constexpr std::size_t block_size = formats::vma::block_size;

// `stored` laid out by `mask` over a zeroed 64 KiB cluster.
void expand(std::uint16_t mask, std::span<const std::uint8_t> stored, std::span<std::uint8_t> cluster)
{
    std::fill(cluster.begin(), cluster.end(), std::uint8_t{0});
    std::size_t k = 0;
    for (unsigned b = 0; b < formats::vma::blocks_per_cluster; ++b) {
        if ((mask & (1U << b)) != 0) {
            std::memcpy(cluster.data() + b * block_size, stored.data() + k * block_size, block_size);
            ++k;
        }
    }
}

}  // namespace

RecordsWalker::RecordsWalker(const NbdVmaPlan& plan, const WalkerSources& sources,
                             engine::VmaRecordsEncoder& encoder)
    : plan_(plan), sources_(sources), encoder_(encoder), buffer_(cluster_size)
{
    for (const auto& d : plan.disks) {
        counts_.push_back((d.source->size() + cluster_size - 1) / cluster_size);
    }
    position();
}

void RecordsWalker::overlay(std::size_t disk, std::uint64_t offset, std::span<const std::uint8_t> data)
{
    while (!data.empty()) {
        const std::uint64_t cluster = offset / cluster_size;
        if (disk != disk_ || cluster < cluster_ || cluster >= counts_[disk]) {
            throw io::Error(fmt::format("{}: a read at {} out of order or past the end",
                                        plan_.disks[disk].device, offset));
        }
        advance_to(disk, cluster);
        if (!dirty_) {
            begin_dirty();
        }
        const std::uint64_t in_cluster = offset % cluster_size;
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(cluster_size - in_cluster, data.size()));
        std::memcpy(buffer_.data() + in_cluster, data.data(), n);
        data = data.subspan(n);
        offset += n;
    }
}

void RecordsWalker::end_disk(std::size_t disk)
{
    advance_to(disk + 1, 0);
}

void RecordsWalker::finish()
{
    advance_to(counts_.size(), 0);
    if (extent_ || sources_.records.next()) {
        throw io::file_error(sources_.records_name, "holds more clusters than the exports");
    }
    if (sources_.previous != nullptr && decoded_here() != nullptr) {
        throw io::file_error(sources_.previous_name, "holds changed clusters past the exports' end");
    }
}

void RecordsWalker::advance_to(std::size_t disk, std::uint64_t cluster)
{
    while (disk_ < counts_.size() && (disk_ < disk || (disk_ == disk && cluster_ < cluster))) {
        finalize();
    }
}

void RecordsWalker::position()
{
    if (disk_ >= counts_.size()) {
        return;
    }
    if (!extent_) {
        extent_ = sources_.records.next();
        if (!extent_ || extent_->clusters.empty()) {
            throw io::file_error(sources_.records_name, "ends before cluster {} of device {}", cluster_,
                                 disk_ + 1);
        }
        slot_ = 0;
        versions_.assign(extent_->clusters.size(), std::nullopt);
        frame_loaded_ = false;
        ++extents_;
    }
    const formats::ClusterRecord& r = extent_->clusters[slot_];
    if (r.dev_id != disk_ + 1 || r.cluster != cluster_) {
        throw io::file_error(sources_.records_name,
                             "lists cluster {} of device {} where cluster {} of device {} comes (not a full "
                             "written by `backup --nbd`?)",
                             r.cluster, r.dev_id, cluster_, disk_ + 1);
    }
}

const engine::DecodedCluster* RecordsWalker::decoded_here()
{
    if (sources_.previous == nullptr) {
        return nullptr;
    }
    if (!pending_fetched_) {
        pending_ = sources_.previous->next();
        pending_fetched_ = true;
    }
    if (!pending_) {
        return nullptr;
    }
    const auto& r = pending_->record;
    if (pending_->stored.size() != r.stored_size()) {
        throw io::file_error(sources_.previous_name, "changed cluster {} of device {}: {} bytes for its mask",
                             r.cluster, r.dev_id, pending_->stored.size());
    }
    if (disk_ >= counts_.size() || r.dev_id < disk_ + 1 || (r.dev_id == disk_ + 1 && r.cluster < cluster_)) {
        throw io::file_error(sources_.previous_name,
                             "changed cluster {} of device {} is not where its full lists it", r.cluster,
                             r.dev_id);
    }
    return r.dev_id == disk_ + 1 && r.cluster == cluster_ ? &*pending_ : nullptr;
}

std::span<const std::uint8_t> RecordsWalker::full_stored()
{
    const formats::ExtentRecord& e = *extent_;
    const formats::ClusterRecord& r = e.clusters[slot_];
    const std::size_t n = r.stored_size();
    if (n == 0) {
        return {};
    }
    if (!frame_loaded_) {
        frame_ = sources_.full.frame(e.frame_offset, e.frame_size, e.length());
        if (frame_.size() != e.length() || !std::equal(e.header.begin(), e.header.end(), frame_.begin())) {
            throw io::file_error(sources_.full_name,
                                 "the extent at {}: its frame is not what its records give", e.offset);
        }
        frame_loaded_ = true;
    }
    if (r.stored_offset < e.offset + formats::vma::extent_header_size ||
        r.stored_offset - e.offset + n > e.length()) {
        throw io::file_error(sources_.records_name, "cluster {} of device {} lies outside its extent",
                             r.cluster, r.dev_id);
    }
    const auto stored = frame_.subspan(static_cast<std::size_t>(r.stored_offset - e.offset), n);
    io::Sha256 sha;
    sha.update(stored);
    if (sha.finish() != r.sha256) {
        throw io::file_error(sources_.full_name, "cluster {} of device {} is not what its records give",
                             r.cluster, r.dev_id);
    }
    return stored;
}

void RecordsWalker::begin_dirty()
{
    const formats::ClusterRecord& r = extent_->clusters[slot_];
    cursor_full_ = full_stored();
    if (const auto* d = decoded_here()) {
        expand(d->record.mask, d->stored, buffer_);
    } else {
        expand(r.mask, cursor_full_, buffer_);
    }
    dirty_ = true;
}

void RecordsWalker::finalize()
{
    const engine::DecodedCluster* decoded = decoded_here();
    if (sources_.previous_map != nullptr &&
        sources_.previous_map->test(disk_, cluster_) != (decoded != nullptr)) {
        throw io::file_error(sources_.previous_name,
                             "its changed records and its map disagree on cluster {} of device {}", cluster_,
                             disk_ + 1);
    }
    if (dirty_ || decoded != nullptr) {
        engine::NewClusterVersion v;
        if (dirty_) {
            const std::uint64_t start = cluster_ * cluster_size;
            const auto length = static_cast<std::size_t>(
                std::min<std::uint64_t>(cluster_size, plan_.disks[disk_].source->size() - start));
            v.mask = formats::vma_cluster_blocks(std::span(buffer_).first(length), v.stored);
        } else {
            v.mask = decoded->record.mask;
            v.stored = decoded->stored;
        }
        v.full_stored = dirty_ ? cursor_full_ : full_stored();  // checked once
        versions_[slot_] = std::move(v);
    }
    if (decoded != nullptr) {
        ++previous_changed_;
        pending_fetched_ = false;
        pending_.reset();
    }
    dirty_ = false;
    if (++slot_ == extent_->clusters.size()) {
        const bool touched =
            std::any_of(versions_.begin(), versions_.end(), [](const auto& v) { return v.has_value(); });
        touched_ += touched ? 1 : 0;
        encoder_.extent(*extent_, versions_);
        extent_.reset();
    }
    if (++cluster_ == counts_[disk_]) {
        ++disk_;
        cluster_ = 0;
    }
    position();
}

}  // namespace pvediff::commands::detail
