// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Makes a fuzzed VMA stream's MD5 fields right, so that mutations reach the checks
// behind them (a fuzzer cannot forge an MD5): the header's (when its header_size is
// plausible and present) and that of every extent header found by walking the
// extents as a reader would.
#include <algorithm>
#include <vector>

#include "pvediff/formats/vma.h"

namespace pvediff::fuzz {

inline void fix_vma_md5s(std::vector<std::uint8_t>& v)
{
    namespace vma = formats::vma;
    if (v.size() < vma::header_prefix_size) {
        return;
    }
    const std::size_t header_size =
        (std::size_t{v[56]} << 24) | (std::size_t{v[57]} << 16) | (std::size_t{v[58]} << 8) | v[59];
    if (header_size < 48 || header_size > v.size()) {
        return;
    }
    const formats::Md5 md5 = formats::vma_header_md5(std::span(v).first(header_size));
    std::copy(md5.begin(), md5.end(), v.begin() + 32);
    std::size_t pos = header_size;
    while (pos + vma::extent_header_size <= v.size() &&
           std::equal(vma::extent_magic.begin(), vma::extent_magic.end(),
                      v.begin() + static_cast<std::ptrdiff_t>(pos))) {
        const auto extent = std::span(v).subspan(pos, vma::extent_header_size);
        const formats::Md5 e = formats::vma_extent_md5(extent);
        std::copy(e.begin(), e.end(), v.begin() + static_cast<std::ptrdiff_t>(pos + 24));
        const std::size_t blocks = (std::size_t{v[pos + 6]} << 8) | v[pos + 7];
        pos += vma::extent_header_size + blocks * vma::block_size;
    }
}

}  // namespace pvediff::fuzz
