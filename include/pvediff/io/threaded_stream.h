// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Pipeline stages on their own thread, connected by a bounded queue of fixed-size
// buffers: a decompressor reads ahead while the engine matches, a compressor packs
// output while the engine goes on. Memory is depth x buffer_size per stage, never
// more. An exception on the stage thread is rethrown to the consumer.
#include <memory>

#include "pvediff/io/byte_stream.h"

namespace pvediff::io {

// Buffers per stage unless a caller needs more (a decoder's window, commands/pipeline.cpp).
inline constexpr std::size_t stream_queue_depth = 4;

// Reads `inner` on a background thread.
std::unique_ptr<ByteSource> make_read_ahead(std::unique_ptr<ByteSource> inner,
                                            std::size_t buffer_size = stream_buffer_size,
                                            std::size_t depth = stream_queue_depth);
// Writes to `inner` on a background thread; finish() waits for it and finishes `inner`.
std::unique_ptr<ByteSink> make_write_behind(std::unique_ptr<ByteSink> inner,
                                            std::size_t buffer_size = stream_buffer_size,
                                            std::size_t depth = stream_queue_depth);

}  // namespace pvediff::io
