// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A bounded in-process pipe: a producer thread pushes into the sink end, a consumer
// pulls from the source end. Lets a push-style stage (the delta decoder writing a
// rebuilt archive) feed a pull-style one (a format verifier reading it) without a
// temporary file. At most `depth` buffers are in flight.
#include <memory>
#include <string>

#include "pvediff/io/byte_stream.h"

namespace pvediff::io {

class StreamPipe {
public:
    explicit StreamPipe(std::string name, std::size_t depth = 8);
    ~StreamPipe();
    StreamPipe(const StreamPipe&) = delete;
    StreamPipe& operator=(const StreamPipe&) = delete;

    // finish() on the sink ends the stream; the source then returns 0.
    ByteSink& sink();
    ByteSource& source();
    // The producer failed: the consumer's next read throws io::Error(message).
    void fail(const std::string& message);
    // The consumer stopped early: the producer's writes throw, so it unwinds.
    void close_reader();

    struct State;  // shared by both ends; defined in stream_pipe.cpp

private:
    std::shared_ptr<State> state_;
    std::unique_ptr<ByteSink> sink_;
    std::unique_ptr<ByteSource> source_;
};

}  // namespace pvediff::io
