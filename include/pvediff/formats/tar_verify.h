// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Strict tar verification in one streaming pass through libarchive (tar formats
// only): every header must parse and every member's data must be readable to its
// end. Beyond libarchive, the archive must end with an end-of-archive zero record, so
// a tar cut exactly at a member boundary is caught too.
#include <cstdint>
#include <string>
#include <vector>

#include "pvediff/io/byte_stream.h"

namespace pvediff::formats {

struct TarVerifyReport {
    bool ok = false;
    std::vector<std::string> problems;  // at most max_problems, the rest counted
    std::uint64_t problems_omitted = 0;
    std::vector<std::string> warnings;  // libarchive warnings (e.g. charset): not failures
    std::uint64_t members = 0;          // entries libarchive returned
    std::uint64_t data_bytes = 0;       // member data read (sparse holes not counted)
    std::uint64_t bytes = 0;            // stream bytes read
    bool end_marker = false;            // ended with a zero record at a header position
};

struct TarVerifyOptions {
    std::size_t max_problems = 100;
};

// Always reads `source` to its end. Content problems go into the report; only I/O
// errors of the source are thrown (io::Error).
TarVerifyReport verify_tar(io::ByteSource& source, const TarVerifyOptions& options = {});

}  // namespace pvediff::formats
