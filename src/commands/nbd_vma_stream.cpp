// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_vma_stream.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/io/error.h"

namespace pvediff::commands::detail {

namespace {

using formats::vma::cluster_size;

// Builds one device's clusters in ascending order as the NBD reads arrive (in
// ascending order too): `start` fills each cluster's base before the bytes read are
// laid over it, and each finished cluster goes to the writer.
class ClusterAssembler {
public:
    using Start = std::function<void(std::uint64_t cluster, std::span<std::uint8_t> base)>;
    ClusterAssembler(formats::VmaWriter& writer, std::uint8_t dev_id, std::uint64_t size, Start start);
    // Lays `data`, read at `offset`, over the clusters it covers.
    void overlay(std::uint64_t offset, std::span<const std::uint8_t> data);
    void finish() { advance_to(count_); }

private:
    void advance_to(std::uint64_t cluster);
    void begin(std::uint64_t cluster);

    formats::VmaWriter& writer_;
    std::uint8_t dev_id_;
    std::uint64_t size_;
    std::uint64_t count_;
    Start start_;
    std::vector<std::uint8_t> buffer_;
    std::uint64_t current_ = 0;
};

ClusterAssembler::ClusterAssembler(formats::VmaWriter& writer, std::uint8_t dev_id, std::uint64_t size,
                                   Start start)
    : writer_(writer),
      dev_id_(dev_id),
      size_(size),
      count_((size + cluster_size - 1) / cluster_size),
      start_(std::move(start)),
      buffer_(cluster_size)
{
    begin(0);
}

void ClusterAssembler::overlay(std::uint64_t offset, std::span<const std::uint8_t> data)
{
    while (!data.empty()) {
        advance_to(offset / cluster_size);
        const std::uint64_t in_cluster = offset % cluster_size;
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(cluster_size - in_cluster, data.size()));
        std::memcpy(buffer_.data() + in_cluster, data.data(), n);
        data = data.subspan(n);
        offset += n;
    }
}

void ClusterAssembler::advance_to(std::uint64_t cluster)
{
    while (current_ < cluster) {
        const std::uint64_t start_byte = current_ * cluster_size;
        const auto length =
            static_cast<std::size_t>(std::min<std::uint64_t>(cluster_size, size_ - start_byte));
        writer_.add_cluster(dev_id_, static_cast<std::uint32_t>(current_),
                            std::span<const std::uint8_t>(buffer_.data(), length));
        begin(current_ + 1);
    }
}

void ClusterAssembler::begin(std::uint64_t cluster)
{
    current_ = cluster;
    if (cluster < count_) {
        start_(cluster, buffer_);
    }
}

}  // namespace

formats::VmaClusterReader::Cluster next_in_order(formats::VmaClusterReader& reader, std::uint8_t dev,
                                                 std::uint64_t cluster, const std::string& name)
{
    const auto c = reader.next();
    if (!c || c->dev_id != dev || c->cluster != cluster) {
        throw io::file_error(
            name,
            "does not list cluster {} of device {} where this path writes it (not written by "
            "`backup --nbd`?)",
            cluster, dev);
    }
    return *c;
}

void check_devices(const formats::VmaHeader& header, const NbdVmaPlan& plan, const std::string& name)
{
    bool same = header.devices.size() == plan.disks.size();
    for (std::size_t i = 0; same && i < plan.disks.size(); ++i) {
        const auto& d = header.devices[i];
        same = d.id == i + 1 && d.name == plan.disks[i].device && d.size == plan.disks[i].source->size();
    }
    if (!same) {
        throw io::file_error(name, "holds other devices than the exports (names, sizes or order)");
    }
}

std::vector<std::uint64_t> NbdVmaPlan::disk_sizes() const
{
    std::vector<std::uint64_t> sizes;
    for (const auto& d : disks) {
        sizes.push_back(d.source->size());
    }
    return sizes;
}

std::vector<formats::VmaWriter::Device> NbdVmaPlan::devices() const
{
    std::vector<formats::VmaWriter::Device> devices;
    for (const auto& d : disks) {
        devices.push_back({d.device, d.source->size()});
    }
    return devices;
}

void write_nbd_clusters(const NbdVmaPlan& plan, io::ByteSink& out, const ClusterBase& base)
{
    formats::VmaWriter writer(out, plan.uuid, plan.ctime, plan.configs, plan.devices());
    for (std::size_t i = 0; i < plan.disks.size(); ++i) {
        const NbdDisk& disk = plan.disks[i];
        const auto dev = static_cast<std::uint8_t>(i + 1);
        ClusterAssembler clusters(
            writer, dev, disk.source->size(),
            [&](std::uint64_t cluster, std::span<std::uint8_t> b) { base(dev, cluster, b); });
        disk.source->read(disk.reads, [&](std::uint64_t offset, std::span<const std::uint8_t> data) {
            clusters.overlay(offset, data);
        });
        clusters.finish();
    }
    writer.finish();
}

void write_nbd_vma(const NbdVmaPlan& plan, io::ByteSource* previous, io::ByteSink& out)
{
    std::optional<formats::VmaClusterReader> old;
    const std::string previous_name = previous != nullptr ? previous->name() : std::string();
    if (previous != nullptr) {
        old.emplace(*previous);
        check_devices(old->header(), plan, previous_name);
    }
    write_nbd_clusters(plan, out, [&](std::uint8_t dev, std::uint64_t cluster, std::span<std::uint8_t> base) {
        if (!old) {
            std::fill(base.begin(), base.end(), std::uint8_t{0});
            return;
        }
        const auto c = next_in_order(*old, dev, cluster, previous_name);
        std::memcpy(base.data(), c.data.data(), cluster_size);
    });
    if (old && old->next()) {
        throw io::file_error(previous_name, "holds more clusters than the exports");
    }
}

}  // namespace pvediff::commands::detail
