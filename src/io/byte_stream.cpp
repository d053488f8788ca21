// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/byte_stream.h"

#include <algorithm>
#include <cstring>

namespace pvediff::io {

std::size_t read_full(ByteSource& source, std::span<std::uint8_t> buf)
{
    std::size_t done = 0;
    while (done < buf.size()) {
        const std::size_t n = source.read(buf.subspan(done));
        if (n == 0) {
            break;
        }
        done += n;
    }
    return done;
}

std::uint64_t copy_stream(ByteSource& source, ByteSink& sink, std::size_t buffer_size)
{
    std::vector<std::uint8_t> buf(buffer_size);
    std::uint64_t total = 0;
    while (const std::size_t n = source.read(buf)) {
        sink.write(std::span(buf).first(n));
        total += n;
    }
    return total;
}

void drain(ByteSource& source)
{
    std::vector<std::uint8_t> buf(stream_buffer_size);
    while (source.read(buf) != 0) {
    }
}

MemorySource::MemorySource(std::vector<std::uint8_t> data, std::string name)
    : data_(std::move(data)), name_(std::move(name))
{
}

std::size_t MemorySource::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = std::min(buf.size(), data_.size() - pos_);
    if (n == 0) {
        return 0;  // an empty vector's data() may be null, which memcpy must not see
    }
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
}

void MemorySink::write(std::span<const std::uint8_t> data)
{
    data_.insert(data_.end(), data.begin(), data.end());
}

PrefixedSource::PrefixedSource(std::vector<std::uint8_t> prefix, std::unique_ptr<ByteSource> inner)
    : prefix_(std::move(prefix)), inner_(std::move(inner))
{
}

std::size_t PrefixedSource::read(std::span<std::uint8_t> buf)
{
    if (pos_ < prefix_.size()) {
        const std::size_t n = std::min(buf.size(), prefix_.size() - pos_);
        std::memcpy(buf.data(), prefix_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    return inner_->read(buf);
}

}  // namespace pvediff::io
