// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/make_vma.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <random>
#include <vector>

#include "pvediff/formats/vma_cluster_order.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"

namespace pvediff::commands {

namespace {
using formats::vma::cluster_size;
}  // namespace

void make_vma(const MakeVmaOptions& options, io::ByteSink& out)
{
    const std::string path = options.image.string();
    const io::Fd fd = io::open_fd(path, O_RDONLY);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        io::throw_errno("stat", path, errno);
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size == 0) {
        throw io::file_error(path, "empty image");
    }
    if ((size + cluster_size - 1) / cluster_size > UINT32_MAX) {
        throw io::file_error(path, "image of {} bytes is too large for a VMA device", size);
    }
    std::mt19937_64 rng(options.order_seed * 0x9E3779B97F4A7C15ULL + 1);
    formats::Uuid uuid{};
    for (auto& b : uuid) {
        b = static_cast<std::uint8_t>(rng());
    }
    const auto clusters = static_cast<std::uint32_t>((size + cluster_size - 1) / cluster_size);
    const std::vector<std::uint32_t> order =
        formats::vma_cluster_order(clusters, options.order_seed, options.order_model);

    formats::VmaWriter vma(out, uuid, options.ctime, {{"qemu-server.conf", options.config}},
                           {{options.device, size}});
    std::vector<std::uint8_t> buf(cluster_size);
    for (const std::uint32_t cluster : order) {
        const std::uint64_t off = std::uint64_t{cluster} * cluster_size;
        const std::span<std::uint8_t> data(buf.data(),
                                           static_cast<std::size_t>(std::min(cluster_size, size - off)));
        io::pread_exact(fd.get(), data, off, path);
        vma.add_cluster(1, cluster, data);
    }
    vma.finish();
}

}  // namespace pvediff::commands
