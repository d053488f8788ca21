// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/vma_verify.h"

#include <array>
#include <bit>
#include <cstring>
#include <memory>

#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::formats {
namespace {

constexpr std::uint64_t max_clusters_per_device = std::uint64_t{1} << 32;

// One bit per cluster, in pages of 64 Ki clusters (4 GiB of disk) allocated on first
// use, so a large device costs nothing until clusters arrive. The header's devices are
// refused beyond VmaVerifyOptions::max_coverage_bytes of bits, so every page that can
// be touched fits that bound, however scattered the clusters an archive names.
class ClusterBitmap {
public:
    explicit ClusterBitmap(std::uint64_t clusters) : pages_((clusters + page_bits - 1) / page_bits) {}
    // Returns true when the bit was already set. `cluster` lies below the device's
    // cluster count (checked by the caller against the header's size).
    bool test_and_set(std::uint64_t cluster)
    {
        auto& page = pages_.at(cluster / page_bits);
        if (!page) {
            page = std::make_unique<Page>();
        }
        const std::uint64_t bit = cluster % page_bits;
        std::uint64_t& word = (*page)[bit / 64];
        const std::uint64_t m = std::uint64_t{1} << (bit % 64);
        const bool was = (word & m) != 0;
        word |= m;
        return was;
    }

private:
    static constexpr std::uint64_t page_bits = 65536;
    using Page = std::array<std::uint64_t, page_bits / 64>;
    std::vector<std::unique_ptr<Page>> pages_;
};

struct DeviceState {
    bool present = false;
    std::size_t report_index = 0;
    std::unique_ptr<ClusterBitmap> seen;
};

class Verifier {
public:
    Verifier(io::ByteSource& source, const VmaVerifyOptions& options)
        : source_(source), options_(options), buf_(io::stream_buffer_size)
    {
    }

    VmaVerifyReport run()
    {
        structure_ok_ = true;
        if (read_header()) {
            while (read_extent()) {
            }
        }
        drain();
        coverage();
        r_.structure_ok = structure_ok_;
        r_.ok = r_.structure_ok && r_.complete;
        return std::move(r_);
    }

private:
    void problem(std::uint64_t offset, const std::string& message, bool structural = true)
    {
        if (structural) {
            structure_ok_ = false;
        }
        if (r_.problems.size() < options_.max_problems) {
            r_.problems.push_back(fmt::format("offset {}: {}", offset, message));
        } else {
            ++r_.problems_omitted;
        }
    }

    // Parse errors name the stream; the report lists problems of this stream only.
    void parse_problem(const io::Error& e)
    {
        std::string msg = e.what();
        const std::string prefix = fmt::format("'{}': ", source_.name());
        if (msg.starts_with(prefix)) {
            msg.erase(0, prefix.size());
        }
        structure_ok_ = false;
        if (r_.problems.size() < options_.max_problems) {
            r_.problems.push_back(std::move(msg));
        } else {
            ++r_.problems_omitted;
        }
    }

    std::size_t read(std::span<std::uint8_t> dst)
    {
        const std::size_t n = io::read_full(source_, dst);
        r_.bytes += n;
        return n;
    }

    bool read_header()
    {
        std::vector<std::uint8_t> header(vma::header_prefix_size);
        if (const std::size_t n = read(header); n < header.size()) {
            problem(0, fmt::format("truncated vma header ({} bytes)", n));
            return false;
        }
        std::uint32_t header_size = 0;
        try {
            header_size = vma_header_size(header, source_.name());
        } catch (const io::Error& e) {
            parse_problem(e);
            return false;
        }
        header.resize(header_size);
        const std::size_t want = header_size - vma::header_prefix_size;
        if (read(std::span(header).subspan(vma::header_prefix_size)) < want) {
            problem(r_.bytes, fmt::format("truncated vma header ({} of {} bytes)", r_.bytes, header_size));
            return false;
        }
        try {
            r_.header = parse_vma_header(header, source_.name());
        } catch (const io::Error& e) {
            parse_problem(e);
            return false;
        }
        r_.header_ok = true;
        for (const auto& d : r_.header.devices) {
            VmaDeviceCoverage c;
            c.id = d.id;
            c.name = d.name;
            c.size = d.size;
            c.clusters_expected = (d.size + vma::cluster_size - 1) / vma::cluster_size;
            r_.devices.push_back(std::move(c));
        }
        if (r_.header.devices.empty()) {
            problem(4096, "vma header lists no device");
        }
        if (!devices_within_limits()) {
            // Nothing is tracked: the extents are only counted as bytes, and the archive
            // is neither structurally sound nor known to be complete.
            coverage_unchecked_ = true;
            return false;
        }
        for (std::size_t i = 0; i < r_.devices.size(); ++i) {
            auto& st = devices_[r_.devices[i].id];
            st.present = true;
            st.report_index = i;
            st.seen = std::make_unique<ClusterBitmap>(r_.devices[i].clusters_expected);
        }
        return true;
    }

    // The format's limits and pvediff's memory bound on the devices the header lists.
    // Each breach is a structure problem at the offset of the size field that breaks it.
    bool devices_within_limits()
    {
        bool ok = true;
        std::uint64_t total_size = 0;
        std::uint64_t total_clusters = 0;
        for (const auto& c : r_.devices) {
            const std::uint64_t size_at = 4096 + std::uint64_t{c.id} * 32 + 8;
            // Cluster numbers are 32 bits: a larger device cannot be fully listed.
            if (c.clusters_expected > max_clusters_per_device) {
                problem(size_at,
                        fmt::format("vma header: device {} of {} bytes is larger than 32-bit cluster "
                                    "numbers address ({} bytes)",
                                    c.name, c.size, max_clusters_per_device * vma::cluster_size));
                ok = false;
                continue;
            }
            total_size += c.size;
            total_clusters += c.clusters_expected;
            if (ok && total_clusters > options_.max_coverage_bytes * 8) {
                problem(size_at,
                        fmt::format("vma header: devices add up to {} bytes at device {}, more than the "
                                    "{} bytes whose coverage verify checks (one bit per 64 KiB cluster, "
                                    "at most {} bytes of bitmap)",
                                    total_size, c.name, options_.max_coverage_bytes * 8 * vma::cluster_size,
                                    options_.max_coverage_bytes));
                ok = false;
            }
        }
        return ok;
    }

    // Returns false at the end of the stream or when nothing further can be interpreted.
    bool read_extent()
    {
        const std::uint64_t at = r_.bytes;
        std::array<std::uint8_t, vma::extent_header_size> h{};
        const std::size_t n = read(h);
        if (n == 0) {
            return false;
        }
        if (n < h.size()) {
            problem(at, fmt::format("truncated extent header ({} of 512 bytes)", n));
            return false;
        }
        ++r_.extents;
        if (std::memcmp(h.data(), vma::extent_magic.data(), 4) != 0) {
            problem(at, "bad extent magic");
            return false;
        }
        Md5 stored{};
        std::memcpy(stored.data(), h.data() + 24, 16);
        if (vma_extent_md5(h) != stored) {
            problem(at, "extent header md5 mismatch");
            return false;
        }
        if (io::load_be16(h.data() + 4) != 0) {
            problem(at + 4, "extent reserved field not zero");
        }
        if (std::memcmp(h.data() + 8, r_.header.uuid.data(), 16) != 0) {
            problem(at + 8, "extent uuid differs from the header's");
        }
        const std::uint64_t block_count = io::load_be16(h.data() + 6);
        std::uint64_t mask_blocks = 0;
        for (std::size_t slot = 0; slot < vma::slots_per_extent; ++slot) {
            const std::uint64_t slot_at = at + 40 + slot * 8;
            const std::uint64_t info = io::load_be64(h.data() + 40 + slot * 8);
            const auto dev_id = static_cast<std::uint8_t>(info >> 32);
            if (dev_id == 0) {
                continue;
            }
            mask_blocks += static_cast<unsigned>(std::popcount(static_cast<std::uint16_t>(info >> 48)));
            check_cluster(slot_at, dev_id, static_cast<std::uint32_t>(info));
        }
        if (mask_blocks != block_count) {
            problem(at + 6,
                    fmt::format("extent block count {} but masks list {} blocks", block_count, mask_blocks));
            return false;
        }
        const std::uint64_t want = block_count * vma::block_size;
        std::uint64_t got = 0;
        while (got < want) {
            const std::size_t chunk =
                static_cast<std::size_t>(std::min<std::uint64_t>(want - got, buf_.size()));
            const std::size_t m = read(std::span(buf_).first(chunk));
            got += m;
            if (m < chunk) {
                problem(at, fmt::format("truncated extent: {} of {} data bytes", got, want));
                return false;
            }
        }
        r_.blocks += block_count;
        return true;
    }

    void check_cluster(std::uint64_t at, std::uint8_t dev_id, std::uint32_t cluster)
    {
        auto& st = devices_[dev_id];
        if (!st.present) {
            problem(at, fmt::format("cluster {} of undefined device {}", cluster, dev_id));
            return;
        }
        auto& c = r_.devices[st.report_index];
        if (std::uint64_t{cluster} * vma::cluster_size >= c.size) {
            problem(at, fmt::format("cluster {} past the end of device {}", cluster, c.name));
            return;
        }
        if (st.seen->test_and_set(cluster)) {
            duplicates_ = true;
            problem(at, fmt::format("duplicate cluster {} of device {}", cluster, c.name));
            return;
        }
        ++c.clusters_seen;
    }

    void drain()
    {
        while (const std::size_t n = source_.read(buf_)) {
            r_.bytes += n;
        }
    }

    void coverage()
    {
        // Devices beyond the limits: nothing was seen, and the header's problem says why
        // (no line per device).
        r_.complete = r_.header_ok && !duplicates_ && !coverage_unchecked_;
        for (auto& c : r_.devices) {
            c.clusters_missing = c.clusters_expected - c.clusters_seen;
            r_.clusters_expected += c.clusters_expected;
            r_.clusters_seen += c.clusters_seen;
            r_.clusters_missing += c.clusters_missing;
            if (c.clusters_missing != 0 && !coverage_unchecked_) {
                r_.complete = false;
                problem(r_.bytes,
                        fmt::format("device {}: {} of {} clusters missing", c.name, c.clusters_missing,
                                    c.clusters_expected),
                        false);
            }
        }
    }

    io::ByteSource& source_;
    const VmaVerifyOptions& options_;
    std::vector<std::uint8_t> buf_;
    std::array<DeviceState, 256> devices_{};
    VmaVerifyReport r_;
    bool structure_ok_ = true;
    bool duplicates_ = false;
    bool coverage_unchecked_ = false;  // the header's devices are beyond the limits
};

}  // namespace

VmaVerifyReport verify_vma(io::ByteSource& source, const VmaVerifyOptions& options)
{
    return Verifier(source, options).run();
}

}  // namespace pvediff::formats
