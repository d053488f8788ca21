// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/vma_records_encoder.h"

#include <fmt/format.h>
#include <zlib.h>

#include <bit>
#include <cstring>

#include "fine_match.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"

namespace pvediff::engine {

namespace vma = formats::vma;

namespace {

io::Digest sha256_of(std::span<const std::uint8_t> bytes)
{
    io::Sha256 sha;
    sha.update(bytes);
    return sha.finish();
}

std::size_t stored_bytes(std::uint16_t mask)
{
    return static_cast<std::size_t>(std::popcount(mask)) * vma::block_size;
}

}  // namespace

VmaRecordsEncoder::VmaRecordsEncoder(VcdiffWriter& writer, CopyProof& proof, const formats::Uuid& uuid,
                                     std::string name, OnChanged on_changed)
    : writer_(writer),
      proof_(proof),
      uuid_(uuid),
      name_(std::move(name)),
      on_changed_(std::move(on_changed)),
      run_hash_(proof.key())
{
}

void VmaRecordsEncoder::header(std::span<const std::uint8_t> bytes)
{
    if (header_done_) {
        throw io::Error(fmt::format("{}: a second VMA header", name_));
    }
    writer_.add(bytes);
    proof_.literal(bytes);
    digest_.add_item(bytes);
    size_ += bytes.size();
    header_done_ = true;
}

void VmaRecordsEncoder::extent(const formats::ExtentRecord& full,
                               std::span<const std::optional<NewClusterVersion>> versions)
{
    if (!header_done_ || versions.size() != full.clusters.size()) {
        throw io::Error(fmt::format("{}: extent at {} of the full: {} versions for {} clusters", name_,
                                    full.offset, versions.size(), full.clusters.size()));
    }
    // What each cluster becomes: clean (the full's record) or changed (its new record).
    struct Planned {
        bool clean = true;
        formats::ClusterRecord record;
    };
    std::vector<Planned> planned(versions.size());
    std::vector<std::uint64_t> infos;
    std::uint32_t blocks = 0;
    for (std::size_t i = 0; i < versions.size(); ++i) {
        const formats::ClusterRecord& f = full.clusters[i];
        Planned& p = planned[i];
        p.record = f;
        if (versions[i]) {
            const NewClusterVersion& v = *versions[i];
            if (v.stored.size() != stored_bytes(v.mask)) {
                throw io::Error(fmt::format("{}: cluster {} of device {}: {} stored bytes for mask {:#06x}",
                                            name_, f.cluster, f.dev_id, v.stored.size(), v.mask));
            }
            const io::Digest sha = sha256_of(v.stored);
            // Equal to the full's in mask and SHA-256: the full's version after all.
            if (v.mask != f.mask || sha != f.sha256) {
                p.clean = false;
                p.record.mask = v.mask;
                p.record.sha256 = sha;
                p.record.adler32 = static_cast<std::uint32_t>(adler32_z(1, v.stored.data(), v.stored.size()));
                p.record.stored_offset = 0;
            }
        }
        infos.push_back((std::uint64_t{p.record.mask} << 48) | (std::uint64_t{f.dev_id} << 32) | f.cluster);
        blocks += static_cast<std::uint32_t>(std::popcount(p.record.mask));
    }
    const auto header = formats::vma_extent_header(uuid_, infos, static_cast<std::uint16_t>(blocks));
    // Differs from the full's in the uuid, the MD5 and the changed clusters' masks.
    detail::FineMatcher header_matcher;
    header_matcher.add_base(full.header, full.offset);
    header_matcher.encode(header, writer_, &proof_);
    digest_.add_item(header);
    size_ += header.size();
    ++stats_.extents;

    for (std::size_t i = 0; i < versions.size(); ++i) {
        const Planned& p = planned[i];
        ++stats_.clusters;
        if (p.clean) {
            ++stats_.copied_clusters;
            copy_clean(p.record);
            continue;
        }
        flush_run();
        ++stats_.changed_clusters;
        on_changed_(p.record);
        const NewClusterVersion& v = *versions[i];
        size_ += v.stored.size();
        if (v.stored.empty()) {
            continue;  // no item
        }
        digest_.add_item_hash(p.record.sha256);
        detail::FineMatcher matcher;
        if (!v.full_stored.empty()) {
            if (v.full_stored.size() != full.clusters[i].stored_size()) {
                throw io::Error(
                    fmt::format("{}: cluster {} of device {}: the full's blocks given are not its "
                                "record's",
                                name_, p.record.cluster, p.record.dev_id));
            }
            matcher.add_base(v.full_stored, full.clusters[i].stored_offset);
        }
        matcher.encode(v.stored, writer_, &proof_);
    }
    flush_run();
}

void VmaRecordsEncoder::copy_clean(const formats::ClusterRecord& record)
{
    const std::size_t n = record.stored_size();
    if (n == 0) {
        return;  // nothing stored, nothing to copy, no item
    }
    digest_.add_item_hash(record.sha256);
    size_ += n;
    const bool continues = run_length_ > 0 && run_offset_ + run_length_ == record.stored_offset &&
                           run_length_ + n <= writer_.max_summed_copy();
    if (!continues) {
        flush_run();
        run_offset_ = record.stored_offset;
        run_adler_ = record.adler32;
        run_length_ = n;
    } else {
        run_adler_ =
            static_cast<std::uint32_t>(adler32_combine(run_adler_, record.adler32, static_cast<z_off_t>(n)));
        run_length_ += n;
    }
    // The piece's hash stands for both sides: the records it copies, in order.
    std::array<std::uint8_t, 16> where{};
    io::store_le64(where.data(), record.stored_offset);
    io::store_le64(where.data() + 8, n);
    run_hash_.update(where);
    run_hash_.update(record.sha256);
}

void VmaRecordsEncoder::flush_run()
{
    if (run_length_ == 0) {
        return;
    }
    writer_.copy_summed(run_offset_, run_length_, run_adler_);
    const ProofHash h = run_hash_.digest();
    proof_.copy(run_offset_, run_length_, run_adler_, h, h);
    ++stats_.copy_runs;
    run_length_ = 0;
    run_hash_.reset();
}

}  // namespace pvediff::engine
