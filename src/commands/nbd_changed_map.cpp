// SPDX-License-Identifier: GPL-2.0-or-later
#include "nbd_changed_map.h"

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "pvediff/formats/vma.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/sha256.h"
#include "pvediff/store/entry_name.h"

namespace pvediff::commands::detail {

namespace {

constexpr std::array<std::uint8_t, 8> magic{'P', 'V', 'D', 'X', 'N', 'B', 'D', 'M'};
constexpr std::uint32_t version = 1;

std::uint64_t clusters_of(std::uint64_t size)
{
    return (size + formats::vma::cluster_size - 1) / formats::vma::cluster_size;
}

std::size_t header_size(std::size_t devices)
{
    return magic.size() + 8 + 8 * devices;
}

}  // namespace

ChangedMap::ChangedMap(std::vector<std::uint64_t> device_sizes) : sizes_(std::move(device_sizes))
{
    std::uint64_t bytes = 0;
    for (const std::uint64_t s : sizes_) {
        first_byte_.push_back(bytes);
        bytes += (clusters_of(s) + 7) / 8;
    }
    bits_.assign(bytes, 0);
}

void ChangedMap::set(std::size_t device, std::uint64_t cluster)
{
    if (device >= sizes_.size() || cluster >= clusters_of(sizes_[device])) {
        throw io::Error(
            fmt::format("changed-cluster map: cluster {} of disk {} out of range", cluster, device + 1));
    }
    bits_[first_byte_[device] + cluster / 8] |= static_cast<std::uint8_t>(1U << (cluster % 8));
}

bool ChangedMap::test(std::size_t device, std::uint64_t cluster) const
{
    return device < sizes_.size() && cluster < clusters_of(sizes_[device]) &&
           (bits_[first_byte_[device] + cluster / 8] & (1U << (cluster % 8))) != 0;
}

std::uint64_t ChangedMap::count() const
{
    std::uint64_t n = 0;
    for (const std::uint8_t b : bits_) {
        n += static_cast<std::uint64_t>(__builtin_popcount(b));
    }
    return n;
}

void ChangedMap::save(const std::filesystem::path& path, const io::FileMode& mode) const
{
    std::vector<std::uint8_t> out(header_size(sizes_.size()));
    std::memcpy(out.data(), magic.data(), magic.size());
    io::store_le32(out.data() + 8, version);
    io::store_le32(out.data() + 12, static_cast<std::uint32_t>(sizes_.size()));
    for (std::size_t i = 0; i < sizes_.size(); ++i) {
        io::store_le64(out.data() + 16 + 8 * i, sizes_[i]);
    }
    out.insert(out.end(), bits_.begin(), bits_.end());
    io::Sha256 sha;
    sha.update(out);
    const io::Digest digest = sha.finish();
    out.insert(out.end(), digest.begin(), digest.end());
    io::AtomicFile file(path, mode);
    file.sink().write(out);
    file.sink().finish();
    file.commit();
}

ChangedMap ChangedMap::load(const std::filesystem::path& path, const std::vector<std::uint64_t>& device_sizes)
{
    const std::string name = path.string();
    ChangedMap map(device_sizes);
    const std::size_t want = header_size(device_sizes.size()) + map.bits_.size() + io::Digest{}.size();
    io::FileSource in(io::open_regular_file(path), name);
    std::vector<std::uint8_t> data(want + 1);  // one more: a longer file is seen
    const std::size_t got = io::read_full(in, data);
    if (got != want) {
        io::throw_parse_error(name, std::min(got, want),
                              fmt::format("{} bytes where the disks' sizes make {}", got, want));
    }
    data.resize(want);
    io::Sha256 sha;
    sha.update(std::span(data).first(want - io::Digest{}.size()));
    const io::Digest digest = sha.finish();
    if (std::memcmp(digest.data(), data.data() + want - digest.size(), digest.size()) != 0) {
        io::throw_parse_error(name, want - digest.size(), "checksum mismatch");
    }
    if (std::memcmp(data.data(), magic.data(), magic.size()) != 0 ||
        io::load_le32(data.data() + 8) != version || io::load_le32(data.data() + 12) != device_sizes.size()) {
        io::throw_parse_error(name, 0, "not a changed-cluster map of this version for these disks");
    }
    for (std::size_t i = 0; i < device_sizes.size(); ++i) {
        if (io::load_le64(data.data() + 16 + 8 * i) != device_sizes[i]) {
            io::throw_parse_error(name, 16 + 8 * i, fmt::format("disk {} has another size", i + 1));
        }
    }
    const std::size_t bits_at = header_size(device_sizes.size());
    std::memcpy(map.bits_.data(), data.data() + bits_at, map.bits_.size());
    for (std::size_t i = 0; i < device_sizes.size(); ++i) {
        const std::uint64_t clusters = clusters_of(device_sizes[i]);
        if (clusters % 8 != 0) {
            const std::size_t last = map.first_byte_[i] + clusters / 8;
            if ((map.bits_[last] >> (clusters % 8)) != 0) {
                io::throw_parse_error(name, bits_at + last, "bits set past the disk's last cluster");
            }
        }
    }
    return map;
}

std::filesystem::path changed_map_path(const std::filesystem::path& backup)
{
    std::filesystem::path p = backup;
    p += std::string(store::nbd_changed_suffix);
    return p;
}

}  // namespace pvediff::commands::detail
