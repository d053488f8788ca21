// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Helpers shared by the formats tests: the real VMA fixture, synthetic VMAs, and
// running a layout parser over a buffer cut into pieces of a given size.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <vector>

#include "pvediff/formats/layout.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/byte_stream.h"
#include "test_util.h"

namespace pvediff::test {

// The decompressed fixture (538,112 bytes), through the real gzip tool.
inline std::vector<std::uint8_t> fixture_vma()
{
    TempDir dir;
    const std::filesystem::path src = std::filesystem::path(PVEDIFF_FIXTURES_DIR) / "dissect-test.vma.gz";
    if (run("gzip -dc " + shell_quote(src.string()) + " > " + shell_quote((dir / "f.vma").string())) != 0) {
        ADD_FAILURE() << "gzip -dc failed";
        return {};
    }
    return read_file(dir / "f.vma");
}

inline std::vector<formats::Region> layout_of(std::span<const std::uint8_t> data,
                                              formats::ArchiveFormat format, std::size_t piece)
{
    auto parser = formats::make_layout_parser(format);
    std::vector<formats::Region> out;
    for (std::size_t at = 0; at < data.size(); at += piece) {
        parser->feed(data.subspan(at, std::min(piece, data.size() - at)), out);
    }
    parser->finish(out);
    return out;
}

// Regions must tile [0, size) exactly, each non-empty and at most max_region_length.
inline void expect_tiling(const std::vector<formats::Region>& regions, std::uint64_t size)
{
    std::uint64_t at = 0;
    for (const auto& r : regions) {
        ASSERT_EQ(r.offset, at);
        ASSERT_GT(r.length, 0U);
        ASSERT_LE(r.length, formats::max_region_length);
        at += r.length;
    }
    ASSERT_EQ(at, size);
}

// Joins the pieces of units reported in several regions (continues = true).
inline std::vector<formats::Region> merge_pieces(const std::vector<formats::Region>& regions)
{
    std::vector<formats::Region> out;
    bool joining = false;
    for (const auto& r : regions) {
        if (joining) {
            EXPECT_EQ(out.back().kind, r.kind);
            EXPECT_EQ(out.back().key, r.key);
            out.back().length += r.length;
        } else {
            out.push_back(r);
        }
        joining = r.continues;
        out.back().continues = false;
    }
    return out;
}

struct SyntheticDevice {
    std::string name;
    std::uint64_t size;
};

// A synthetic disk image: mixed data, all-zero clusters and all-zero blocks.
inline std::vector<std::uint8_t> synthetic_disk(std::uint64_t size, std::uint32_t seed)
{
    auto d = make_data(static_cast<std::size_t>(size), seed);
    for (std::uint64_t c = 0; c * 65536 < size; ++c) {
        const std::size_t start = static_cast<std::size_t>(c * 65536);
        const std::size_t end = static_cast<std::size_t>(std::min<std::uint64_t>(size, start + 65536));
        if ((c + seed) % 5 == 1) {
            std::fill(d.begin() + static_cast<std::ptrdiff_t>(start),
                      d.begin() + static_cast<std::ptrdiff_t>(end), 0);
        } else if ((c + seed) % 3 == 0) {
            for (std::size_t b = start; b < end; b += 4096 * 3) {
                std::fill(d.begin() + static_cast<std::ptrdiff_t>(b),
                          d.begin() + static_cast<std::ptrdiff_t>(std::min(end, b + 4096)), 0);
            }
        }
    }
    return d;
}

struct ClusterRef {
    std::uint8_t dev_id;
    std::uint32_t cluster;
};

// Writes disks (one per device) as a VMA with clusters in `order` (all clusters of all
// devices when empty, shuffled with `seed`).
inline std::vector<std::uint8_t> write_vma(const std::vector<SyntheticDevice>& devs,
                                           const std::vector<std::vector<std::uint8_t>>& disks,
                                           std::vector<ClusterRef> order, std::uint32_t seed)
{
    io::MemorySink sink;
    formats::Uuid uuid{};
    for (std::size_t i = 0; i < uuid.size(); ++i) {
        uuid[i] = static_cast<std::uint8_t>(seed * 31 + i);
    }
    std::vector<formats::VmaWriter::Device> wd;
    for (const auto& d : devs) {
        wd.push_back({d.name, d.size});
    }
    formats::VmaWriter w(sink, uuid, 1700000000 + seed,
                         {{"qemu-server.conf", "memory: 2048\n#qmdump#map:scsi0:drive-scsi0:local:raw:\n"}},
                         wd);
    if (order.empty()) {
        for (std::size_t i = 0; i < devs.size(); ++i) {
            for (std::uint64_t c = 0; c * 65536 < devs[i].size; ++c) {
                order.push_back({static_cast<std::uint8_t>(i + 1), static_cast<std::uint32_t>(c)});
            }
        }
        std::mt19937 rng(seed);
        std::shuffle(order.begin(), order.end(), rng);
    }
    for (const auto& ref : order) {
        const auto& disk = disks[ref.dev_id - 1U];
        const std::size_t start = std::size_t{ref.cluster} * 65536;
        const std::size_t n = std::min<std::size_t>(65536, disk.size() - start);
        w.add_cluster(ref.dev_id, ref.cluster, std::span(disk).subspan(start, n));
    }
    w.finish();
    return sink.data();
}

}  // namespace pvediff::test
