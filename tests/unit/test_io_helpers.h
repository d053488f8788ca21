// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Small helpers shared by the io tests: whole-file compression and decompression
// through pvediff's own streams.
#include <filesystem>
#include <string>
#include <vector>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/sha256.h"
#include "test_util.h"

namespace pvediff::test {

inline std::vector<std::uint8_t> decompress_all(std::unique_ptr<io::ByteSource> source,
                                                std::size_t read_size = 64 * 1024)
{
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> buf(read_size);
    while (const std::size_t n = source->read(buf)) {
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return out;
}

// Decompresses a file with the given codec (not detected), to the end.
inline std::vector<std::uint8_t> decompress_file(const std::filesystem::path& path, io::Codec codec)
{
    return decompress_all(io::make_decompressor(io::open_file_source(path.string()), codec));
}

inline void compress_to_file(const std::vector<std::uint8_t>& data, const std::filesystem::path& path,
                             io::Codec codec, io::CompressOptions options = {})
{
    io::AtomicFile file(path);
    auto sink = io::make_compressor(file.sink(), codec, options);
    // Odd slices, so block boundaries fall anywhere.
    std::span<const std::uint8_t> rest(data);
    while (!rest.empty()) {
        const std::size_t n = std::min<std::size_t>(rest.size(), 100'003);
        sink->write(rest.first(n));
        rest = rest.subspan(n);
    }
    sink->finish();
    file.commit();
}

inline std::string sha256_hex(std::span<const std::uint8_t> data)
{
    io::Sha256 sha;
    sha.update(data);
    return io::to_hex(sha.finish());
}

inline std::vector<std::uint8_t> bytes_of(std::string_view s)
{
    return {s.begin(), s.end()};
}

}  // namespace pvediff::test
