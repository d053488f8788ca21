// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A minimal POSIX ustar writer for synthetic container archives (tests, `pvediff
// demo`): directories and regular files, names up to 100 bytes (or prefix + name up
// to 255), streamed into a sink. GNU tar and libarchive read what it writes.
#include <cstdint>
#include <span>
#include <string>

#include "pvediff/io/byte_stream.h"

namespace pvediff::formats {

class TarWriter {
public:
    explicit TarWriter(io::ByteSink& out) : out_(out) {}
    void add_directory(const std::string& path, std::int64_t mtime, unsigned mode = 0755);
    // Header, then exactly `size` bytes must follow through write_data(), then end_file().
    void begin_file(const std::string& path, std::uint64_t size, std::int64_t mtime, unsigned mode = 0644);
    void write_data(std::span<const std::uint8_t> data);
    void end_file();
    void add_file(const std::string& path, std::span<const std::uint8_t> content, std::int64_t mtime,
                  unsigned mode = 0644);
    // Two zero records (the end-of-archive marker); does not finish the sink.
    void finish();

private:
    void write_header(const std::string& path, char type, std::uint64_t size, std::int64_t mtime,
                      unsigned mode);

    io::ByteSink& out_;
    std::uint64_t remaining_ = 0;
    std::uint64_t written_in_file_ = 0;
};

}  // namespace pvediff::formats
