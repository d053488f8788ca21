// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/make_vma.h"

#include <fcntl.h>
#include <queue>
#include <random>
#include <sys/stat.h>
#include <vector>

#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"

namespace pvediff::commands {

namespace {
constexpr std::uint64_t cluster_size = 64 * 1024;

struct InFlight {
    std::uint64_t done_at;
    std::uint32_t cluster;
    std::vector<std::uint8_t> data;
    bool operator>(const InFlight& o) const { return done_at != o.done_at ? done_at > o.done_at : cluster > o.cluster; }
};
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
        throw io::Error("'" + path + "': empty image");
    }
    std::mt19937_64 rng(options.order_seed * 0x9E3779B97F4A7C15ULL + 1);
    formats::Uuid uuid{};
    for (auto& b : uuid) {
        b = static_cast<std::uint8_t>(rng());
    }
    formats::VmaWriter vma(out, uuid, options.ctime, {{"qemu-server.conf", options.config}},
                           {{options.device, size}});

    // Workers take the next cluster when free and finish it after a random time;
    // clusters are written in the order they finish, as QEMU's backup job does.
    const auto clusters = static_cast<std::uint32_t>((size + cluster_size - 1) / cluster_size);
    std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> running;
    std::uint32_t next = 0;
    std::uint64_t now = 0;
    auto start = [&](std::uint64_t at) {
        const std::uint64_t off = std::uint64_t{next} * cluster_size;
        std::vector<std::uint8_t> data(static_cast<std::size_t>(std::min(cluster_size, size - off)));
        io::pread_exact(fd.get(), data, off, path);
        running.push({at + 1 + rng() % 8, next++, std::move(data)});
    };
    while (next < clusters && running.size() < options.workers) {
        start(now);
    }
    while (!running.empty()) {
        InFlight done = running.top();
        running.pop();
        now = done.done_at;
        vma.add_cluster(1, done.cluster, done.data);
        if (next < clusters) {
            start(now);
        }
    }
    vma.finish();
}

}  // namespace pvediff::commands
