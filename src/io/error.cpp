// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/error.h"

#include <cstring>

namespace pvediff::io {

void throw_errno(const std::string& what, const std::string& path, int err)
{
    throw Error(fmt::format("cannot {} '{}': {}", what, path, std::strerror(err)));
}

void throw_parse_error(const std::string& path, std::uint64_t offset, const std::string& message)
{
    throw file_error(path, "offset {}: {}", offset, message);
}

}  // namespace pvediff::io
