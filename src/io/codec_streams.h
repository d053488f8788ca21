// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Private to src/io: one factory pair per codec, each defined in its own file
// (zstd_stream.cpp, gzip_stream.cpp, lzop_reader.cpp, lzop_writer.cpp). codec.cpp
// dispatches to them; nothing outside the io layer needs to know them.
#include <cstdint>
#include <memory>
#include <string>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/codec.h"

namespace pvediff::io::detail {

std::unique_ptr<ByteSource> make_zstd_decompressor(std::unique_ptr<ByteSource> compressed);
std::unique_ptr<ByteSink> make_zstd_compressor(std::unique_ptr<ByteSink> out, const CompressOptions& options);

std::unique_ptr<ByteSource> make_gzip_decompressor(std::unique_ptr<ByteSource> compressed);
std::unique_ptr<ByteSink> make_gzip_compressor(std::unique_ptr<ByteSink> out, const CompressOptions& options);

std::unique_ptr<ByteSource> make_lzop_decompressor(std::unique_ptr<ByteSource> compressed);
std::unique_ptr<ByteSink> make_lzop_compressor(std::unique_ptr<ByteSink> out, const CompressOptions& options);

// "'<name>': offset <offset>: <codec>: <message>", the form every decompressor
// error takes.
[[noreturn]] void throw_codec_error(const std::string& name, std::uint64_t offset, std::string_view codec,
                                    const std::string& message);

// Tracks the compressed input of a decompressor: one buffer, allocated once, and the
// offset in the compressed stream of its first byte, so errors can say where.
class InputBuffer {
public:
    InputBuffer(ByteSource& source, std::size_t size)
        : source_(source), buf_(std::make_unique_for_overwrite<std::uint8_t[]>(size)), size_(size)
    {
    }
    // Refills when everything was consumed; returns false at the end of the input.
    bool refill();
    [[nodiscard]] const std::uint8_t* data() const { return buf_.get() + pos_; }
    [[nodiscard]] std::size_t available() const { return end_ - pos_; }
    void consume(std::size_t n) { pos_ += n; }
    // Offset in the compressed stream of the next unconsumed byte.
    [[nodiscard]] std::uint64_t offset() const { return base_ + pos_; }
    // Copies exactly out.size() bytes; returns false if the input ended first.
    bool read_exact(std::span<std::uint8_t> out);

private:
    ByteSource& source_;
    std::unique_ptr<std::uint8_t[]> buf_;  // not zeroed: always written before read
    std::size_t size_;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
    std::uint64_t base_ = 0;
};

// A sink that must be finished once and never written after: shared by the
// compressors so misuse is caught the same way everywhere.
void check_not_finished(bool finished, const std::string& name);

}  // namespace pvediff::io::detail
