// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_vma_stream.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "pvediff/formats/vma_cluster_reader.h"
#include "pvediff/io/error.h"

namespace pvediff::commands::detail {

namespace {

constexpr std::uint64_t cluster_size = formats::vma::cluster_size;

// Builds one device's clusters in ascending order as the NBD reads arrive (in
// ascending order too), handing each finished cluster to the writer.
class ClusterAssembler {
public:
    ClusterAssembler(formats::VmaWriter& writer, std::uint8_t dev_id, std::uint64_t size,
                     formats::VmaClusterReader* previous, const std::string& previous_name)
        : writer_(writer),
          dev_id_(dev_id),
          size_(size),
          count_((size + cluster_size - 1) / cluster_size),
          previous_(previous),
          previous_name_(previous_name),
          buffer_(cluster_size)
    {
        start(0);
    }

    // Lays `data`, read at `offset`, over the clusters it covers.
    void overlay(std::uint64_t offset, std::span<const std::uint8_t> data)
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

    void finish() { advance_to(count_); }

private:
    void advance_to(std::uint64_t cluster)
    {
        while (current_ < cluster) {
            const std::uint64_t start_byte = current_ * cluster_size;
            const auto length =
                static_cast<std::size_t>(std::min<std::uint64_t>(cluster_size, size_ - start_byte));
            writer_.add_cluster(dev_id_, static_cast<std::uint32_t>(current_),
                                std::span<const std::uint8_t>(buffer_.data(), length));
            start(current_ + 1);
        }
    }

    void start(std::uint64_t cluster)
    {
        current_ = cluster;
        if (cluster >= count_) {
            return;
        }
        if (previous_ == nullptr) {
            std::fill(buffer_.begin(), buffer_.end(), std::uint8_t{0});
            return;
        }
        const auto c = previous_->next();
        if (!c || c->dev_id != dev_id_ || c->cluster != cluster) {
            throw io::file_error(
                previous_name_,
                "does not list cluster {} of device {} where this path writes it (not written by "
                "`backup --nbd`?)",
                cluster, dev_id_);
        }
        std::memcpy(buffer_.data(), c->data.data(), cluster_size);
    }

    formats::VmaWriter& writer_;
    std::uint8_t dev_id_;
    std::uint64_t size_;
    std::uint64_t count_;
    formats::VmaClusterReader* previous_;
    const std::string& previous_name_;
    std::vector<std::uint8_t> buffer_;
    std::uint64_t current_ = 0;
};

void check_previous_devices(const formats::VmaHeader& header, const NbdVmaPlan& plan, const std::string& name)
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

}  // namespace

void write_nbd_vma(const NbdVmaPlan& plan, io::ByteSource* previous, io::ByteSink& out)
{
    std::vector<formats::VmaWriter::Device> devices;
    for (const auto& d : plan.disks) {
        devices.push_back({d.device, d.source->size()});
    }
    std::optional<formats::VmaClusterReader> old;
    const std::string previous_name = previous != nullptr ? previous->name() : std::string();
    if (previous != nullptr) {
        old.emplace(*previous);
        check_previous_devices(old->header(), plan, previous_name);
    }
    formats::VmaWriter writer(out, plan.uuid, plan.ctime, plan.configs, devices);
    for (std::size_t i = 0; i < plan.disks.size(); ++i) {
        const NbdDisk& disk = plan.disks[i];
        ClusterAssembler clusters(writer, static_cast<std::uint8_t>(i + 1), disk.source->size(),
                                  old ? &*old : nullptr, previous_name);
        disk.source->read(disk.reads, [&](std::uint64_t offset, std::span<const std::uint8_t> data) {
            clusters.overlay(offset, data);
        });
        clusters.finish();
    }
    writer.finish();
    if (old && old->next()) {
        throw io::file_error(previous_name, "holds more clusters than the exports");
    }
}

}  // namespace pvediff::commands::detail
