// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/layout.h"

#include <cstring>

#include "layout_run.h"
#include "pvediff/formats/vma.h"
#include "tar_layout.h"
#include "vma_layout.h"

namespace pvediff::formats {
namespace {

// Unknown formats: the whole stream is payload, in max_region_length pieces.
class OpaqueLayoutParser final : public LayoutParser {
public:
    void feed(std::span<const std::uint8_t> data, std::vector<Region>& out) override
    {
        if (!run_.active() && pos_ == 0 && !data.empty()) {
            run_.start(0, detail::open_end, RegionKind::payload, 0, 0, out);
        }
        pos_ += run_.advance(data.size(), out);
    }
    void finish(std::vector<Region>& out) override { run_.flush(out, RegionKind::payload, 0); }
    [[nodiscard]] std::uint64_t offset() const override { return pos_; }
    [[nodiscard]] bool opaque() const override { return true; }

private:
    detail::RegionRun run_;
    std::uint64_t pos_ = 0;
};

}  // namespace

ArchiveFormat detect_format(std::span<const std::uint8_t> head)
{
    if (head.size() >= 4 && std::memcmp(head.data(), vma::header_magic.data(), 4) == 0) {
        return ArchiveFormat::vma;
    }
    if (head.size() >= tar::record) {
        const auto h = head.first(tar::record);
        if (std::memcmp(h.data() + 257, "ustar", 5) == 0 ||
            (!tar::is_zero_record(h) && tar::checksum_ok(h))) {
            return ArchiveFormat::tar;
        }
    }
    return ArchiveFormat::unknown;
}

std::unique_ptr<LayoutParser> make_layout_parser(ArchiveFormat format)
{
    switch (format) {
        case ArchiveFormat::vma:
            return make_vma_layout_parser();
        case ArchiveFormat::tar:
            return std::make_unique<tar::LayoutParser>();
        case ArchiveFormat::unknown:
            break;
    }
    return std::make_unique<OpaqueLayoutParser>();
}

}  // namespace pvediff::formats
