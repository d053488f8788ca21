// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The compressions vzdump uses (zstd, lzop's container format, gzip) and none.
// Streams are recognised by their magic bytes, never by file name: a `.vma.zst`
// renamed by hand still reads.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/fd.h"

namespace pvediff::io {

enum class Codec { none, zstd, lzo, gzip };

std::string_view codec_name(Codec codec);                 // "none", "zstd", "lzo", "gzip"
std::string_view codec_extension(Codec codec);            // "", ".zst", ".lzo", ".gz"
std::optional<Codec> parse_codec(std::string_view name);  // also accepts "zst", "lzop", "gz"
// Detects by magic bytes; anything unrecognised is Codec::none. Needs at most
// codec_magic_size bytes (fewer if the stream is shorter).
inline constexpr std::size_t codec_magic_size = 16;
Codec detect_codec(std::span<const std::uint8_t> head);

struct CompressOptions {
    int level = 0;    // 0: the codec's default (zstd 3, gzip 6, lzop's -3 = LZO1X-1)
    int threads = 1;  // zstd worker threads, like `zstd --threads=N`; others ignore it
    // zstd: a whole stream of at most small_bytes is compressed at small_level
    // instead (it is held until it ends or grows beyond); 0 = off. Others ignore it.
    int small_level = 0;
    std::size_t small_bytes = 0;
    // zstd with one thread: look back 2^window_log bytes instead of as far as the
    // level's window (the reader needs as much memory); 0 = the level's. Not with
    // several threads, where the window also sets each job's size and so the memory.
    int window_log = 0;
};

// Decompressing view of `compressed`. Errors name the stream and the compressed
// offset: "'x.vma.zst': offset 1234: zstd: corrupted block".
std::unique_ptr<ByteSource> make_decompressor(std::unique_ptr<ByteSource> compressed, Codec codec);
// Compressing sink writing into `out`; finish() writes the trailer and finishes `out`.
std::unique_ptr<ByteSink> make_compressor(std::unique_ptr<ByteSink> out, Codec codec,
                                          CompressOptions options = {});
// Non-owning variant for sinks owned elsewhere (e.g. AtomicFile::sink()).
std::unique_ptr<ByteSink> make_compressor(ByteSink& out, Codec codec, CompressOptions options = {});

// A file (or "-" for stdin), its codec detected from its first bytes, decompressed.
struct DecodedInput {
    std::unique_ptr<ByteSource> source;
    Codec codec = Codec::none;
};
// A path is opened the io::DirHandle way (a regular file, no link followed, never blocking).
DecodedInput open_decompressed(const std::string& path);
DecodedInput open_decompressed(std::unique_ptr<ByteSource> raw);
// A file already opened (e.g. by io::DirHandle::open_regular); `name` names it in messages.
DecodedInput open_decompressed(Fd fd, std::string name);

}  // namespace pvediff::io
