// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A sink that counts the bytes passing through it and tells an observer, so a
// long operation can show progress without its stages knowing about it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pvediff/io/byte_stream.h"

namespace pvediff::io {

class CountingSink final : public ByteSink {
public:
    // `on_bytes(total so far)` after every write; it must be cheap (a rate-limited
    // progress display) and may be empty.
    CountingSink(ByteSink& inner, std::function<void(std::uint64_t)> on_bytes)
        : inner_(inner), on_bytes_(std::move(on_bytes))
    {
    }
    void write(std::span<const std::uint8_t> data) override
    {
        inner_.write(data);
        count_ += data.size();
        if (on_bytes_) {
            on_bytes_(count_);
        }
    }
    void finish() override { inner_.finish(); }
    void mark_boundary() override { inner_.mark_boundary(); }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    [[nodiscard]] std::uint64_t count() const { return count_; }

private:
    ByteSink& inner_;
    std::function<void(std::uint64_t)> on_bytes_;
    std::uint64_t count_ = 0;
};

// The same for a source: counts the bytes read through it, e.g. a compressed
// archive's bytes under its decompressor, whose file size is the one total known
// before the content has been read.
class CountingSource final : public ByteSource {
public:
    // Reads through `inner`, which it owns.
    CountingSource(std::unique_ptr<ByteSource> inner, std::function<void(std::uint64_t)> on_bytes)
        : owned_(std::move(inner)), inner_(*owned_), on_bytes_(std::move(on_bytes))
    {
    }
    // Reads through `inner`, which outlives it.
    CountingSource(ByteSource& inner, std::function<void(std::uint64_t)> on_bytes)
        : inner_(inner), on_bytes_(std::move(on_bytes))
    {
    }
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = inner_.read(buf);
        count_ += n;
        if (on_bytes_ && n != 0) {
            on_bytes_(count_);
        }
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    [[nodiscard]] std::uint64_t count() const { return count_; }

private:
    std::unique_ptr<ByteSource> owned_;
    ByteSource& inner_;
    std::function<void(std::uint64_t)> on_bytes_;
    std::uint64_t count_ = 0;
};

}  // namespace pvediff::io
