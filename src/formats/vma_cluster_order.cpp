// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/vma_cluster_order.h"

#include <algorithm>
#include <queue>
#include <random>

namespace pvediff::formats {

namespace {
// One worker's next delivery: the cluster it completes at time `at`.
struct Pending {
    std::uint64_t at;
    std::uint32_t cluster;
    std::uint32_t chunk_end;
    bool operator>(const Pending& o) const { return at != o.at ? at > o.at : cluster > o.cluster; }
};
}  // namespace

std::vector<std::uint32_t> vma_cluster_order(std::uint32_t clusters, std::uint64_t seed,
                                             const VmaClusterOrderModel& model)
{
    const std::uint32_t chunk = std::max<std::uint32_t>(model.chunk_clusters, 1);
    const unsigned workers = std::max(model.workers, 1U);
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 7);
    // A cluster takes 4 to 7 time units, zeros as much as data (in the sample they
    // interleave alike): the tasks stay close to each other (the sample shows a steady
    // round of the chunks in flight) but not in lock step, so two archives of the same
    // disk differ in order, as vzdump's do.
    auto read_time = [&] { return std::uint64_t{4 + rng() % 4}; };

    std::vector<std::uint32_t> order;
    order.reserve(clusters);
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> running;
    std::uint32_t next_chunk = 0;
    auto take_chunk = [&](std::uint64_t now) {
        if (next_chunk >= clusters) {
            return;
        }
        const std::uint32_t begin = next_chunk;
        const std::uint32_t end = begin + std::min(chunk, clusters - begin);
        next_chunk = end;
        running.push({now + read_time(), begin, end});
    };
    for (unsigned w = 0; w < workers; ++w) {
        take_chunk(0);
    }
    while (!running.empty()) {
        const Pending done = running.top();
        running.pop();
        order.push_back(done.cluster);
        if (done.cluster + 1 < done.chunk_end) {
            running.push({done.at + read_time(), done.cluster + 1, done.chunk_end});
        } else {
            take_chunk(done.at);
        }
    }
    return order;
}

}  // namespace pvediff::formats
