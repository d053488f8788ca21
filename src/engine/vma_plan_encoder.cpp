// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/vma_plan_encoder.h"

#include <fmt/format.h>
#include <libdeflate.h>

#include <bit>
#include <cstring>

#include "fine_match.h"
#include "pvediff/formats/vma.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::engine {

namespace vma = formats::vma;

namespace {

// Clusters announced but not yet written: the VMA writer holds at most one extent
// (58 clusters); more would mean the caller announces without writing.
constexpr std::size_t max_expected = 4 * vma::slots_per_extent;

}  // namespace

VmaPlanEncoder::VmaPlanEncoder(VcdiffWriter& writer, CopyProof& proof, std::string name, OnChanged on_changed)
    : writer_(writer), proof_(proof), name_(std::move(name)), on_changed_(std::move(on_changed))
{
}

void VmaPlanEncoder::expect(PlannedCluster cluster)
{
    if (expected_.size() >= max_expected) {
        throw io::Error(
            fmt::format("{}: more than {} clusters announced and not written", name_, max_expected));
    }
    expected_.push_back(std::move(cluster));
}

void VmaPlanEncoder::write(std::span<const std::uint8_t> data)
{
    pending_.insert(pending_.end(), data.begin(), data.end());
    while (process()) {
    }
}

void VmaPlanEncoder::literal(std::span<const std::uint8_t> bytes)
{
    writer_.add(bytes);
    proof_.literal(bytes);
}

bool VmaPlanEncoder::process()
{
    std::size_t used = 0;
    if (!header_done_) {
        if (pending_.size() < vma::header_prefix_size) {
            return false;
        }
        const std::uint32_t size = formats::vma_header_size(pending_, name_);
        if (pending_.size() < size) {
            return false;
        }
        literal(std::span(pending_).first(size));
        stats_.literal_header_bytes += size;
        header_done_ = true;
        used = size;
    } else {
        if (pending_.size() < vma::extent_header_size) {
            return false;
        }
        const std::uint16_t block_count = io::load_be16(pending_.data() + 6);
        const std::size_t length = vma::extent_header_size + std::size_t{block_count} * vma::block_size;
        if (pending_.size() < length) {
            return false;
        }
        std::vector<std::uint64_t> infos;
        for (std::size_t i = 0; i < vma::slots_per_extent; ++i) {
            const std::uint64_t info = io::load_be64(pending_.data() + 40 + i * 8);
            if (info != 0) {
                infos.push_back(info);
            }
        }
        process_extent(std::span(pending_).first(length), infos);
        used = length;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
    offset_ += used;
    return true;
}

void VmaPlanEncoder::process_extent(std::span<const std::uint8_t> extent,
                                    const std::vector<std::uint64_t>& infos)
{
    const auto header = extent.first(vma::extent_header_size);
    stats_.literal_header_bytes += vma::extent_header_size;
    if (!expected_.empty() && !expected_.front().full_extent_header.empty()) {
        detail::FineMatcher matcher;
        matcher.add_base(expected_.front().full_extent_header, expected_.front().full_extent_offset);
        matcher.encode(header, writer_, &proof_);
    } else {
        literal(header);
    }
    std::size_t at = vma::extent_header_size;
    for (const std::uint64_t info : infos) {
        const auto dev = static_cast<std::uint8_t>(info >> 32);
        const auto number = static_cast<std::uint32_t>(info);
        const std::size_t stored =
            static_cast<std::size_t>(std::popcount(static_cast<std::uint16_t>(info >> 48))) * vma::block_size;
        if (expected_.empty() || expected_.front().dev_id != dev || expected_.front().cluster != number ||
            at + stored > extent.size()) {
            io::throw_parse_error(
                name_, offset_,
                fmt::format("cluster {} of device {} was not announced in this order", number, dev));
        }
        const PlannedCluster c = std::move(expected_.front());
        expected_.pop_front();
        ++stats_.clusters;
        const auto target = extent.subspan(at, stored);
        at += stored;
        // (memcmp is not given the null data of empty spans.)
        const bool same =
            c.in_full && c.full_stored.size() == target.size() &&
            (target.empty() || std::memcmp(c.full_stored.data(), target.data(), target.size()) == 0);
        if (same) {
            ++stats_.copied_clusters;
            if (target.empty()) {
                continue;  // nothing stored, nothing to copy
            }
            const bool continues = !run_target_.empty() &&
                                   run_target_.data() + run_target_.size() == target.data() &&
                                   run_full_offset_ + run_target_.size() == c.full_offset;
            if (!continues) {
                flush_run();
                run_full_offset_ = c.full_offset;
                run_target_ = target;
            } else {
                run_target_ = std::span(run_target_.data(), run_target_.size() + target.size());
            }
            continue;
        }
        flush_run();
        ++stats_.changed_clusters;
        on_changed_(dev, number);
        if (target.empty()) {
            continue;
        }
        detail::FineMatcher matcher;
        if (c.in_full && !c.full_stored.empty()) {
            matcher.add_base(c.full_stored, c.full_offset);
        }
        matcher.encode(target, writer_, &proof_);
    }
    flush_run();
    if (at != extent.size()) {
        io::throw_parse_error(name_, offset_, "extent holds more blocks than its masks");
    }
}

// One COPY per piece that fits a window (as fine_match's copies): each piece's
// Adler-32 is the proof's. The full's bytes were compared with these byte for byte
// (process_extent), so one hash stands for both sides.
void VmaPlanEncoder::flush_run()
{
    if (run_target_.empty()) {
        return;
    }
    const std::uint64_t most = writer_.max_summed_copy();
    for (std::size_t at = 0; at < run_target_.size();) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(most, run_target_.size() - at));
        const auto t = run_target_.subspan(at, n);
        const auto adler = libdeflate_adler32(1, t.data(), t.size());
        writer_.copy_summed(run_full_offset_ + at, n, adler);
        const ProofHash h = proof_.key().hash(t);
        proof_.copy(run_full_offset_ + at, n, adler, h, h);
        at += n;
    }
    ++stats_.copy_runs;
    run_target_ = {};
}

void VmaPlanEncoder::finish()
{
    if (!header_done_ || !pending_.empty() || !expected_.empty()) {
        io::throw_parse_error(
            name_, offset_,
            fmt::format("stream ends with {} bytes of an extent and {} clusters not written", pending_.size(),
                        expected_.size()));
    }
}

}  // namespace pvediff::engine
