// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Internal: the VMA layout parser behind make_layout_parser(ArchiveFormat::vma).
#include <memory>

#include "pvediff/formats/layout.h"

namespace pvediff::formats {
std::unique_ptr<LayoutParser> make_vma_layout_parser();
}
