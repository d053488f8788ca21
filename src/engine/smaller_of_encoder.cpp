// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/smaller_of_encoder.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "pvediff/io/codec.h"
#include "pvediff/io/error.h"

namespace pvediff::engine {

namespace {

// A read-only view of bytes held elsewhere, named like the stream they came from.
class SpanSource final : public io::ByteSource {
public:
    SpanSource(std::span<const std::uint8_t> data, const std::string& name) : data_(data), name_(name) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = std::min(buf.size(), data_.size() - at_);
        std::memcpy(buf.data(), data_.data() + at_, n);
        at_ += n;
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return name_; }

private:
    std::span<const std::uint8_t> data_;
    std::size_t at_ = 0;
    const std::string& name_;
};

// Bytes read ahead: one allocation of the limit, whose pages only become resident as
// bytes arrive (a vector would zero them, or copy them while it grows).
struct Held {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t size = 0;
    [[nodiscard]] std::span<const std::uint8_t> view() const { return {bytes.get(), size}; }
};

// Reads up to limit + 1 bytes: all of `source` when it holds at most `limit`.
Held read_up_to(io::ByteSource& source, std::uint64_t limit)
{
    Held h;
    const auto capacity = static_cast<std::size_t>(limit) + 1;
    h.bytes.reset(new std::uint8_t[capacity]);  // NOLINT: uninitialised on purpose
    h.size = io::read_full(source, std::span(h.bytes.get(), capacity));
    return h;
}

// Replays bytes read ahead, then the rest of the stream; the bytes are released once
// replayed, so a large input holds them only at its start.
class ReplaySource final : public io::ByteSource {
public:
    ReplaySource(Held head, io::ByteSource& rest) : head_(std::move(head)), rest_(rest) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (at_ < head_.size) {
            const std::size_t n = std::min(buf.size(), head_.size - at_);
            std::memcpy(buf.data(), head_.bytes.get() + at_, n);
            at_ += n;
            if (at_ == head_.size) {
                head_ = {};
                at_ = 0;
            }
            return n;
        }
        return rest_.read(buf);
    }
    [[nodiscard]] const std::string& name() const override { return rest_.name(); }

private:
    Held head_;
    std::size_t at_ = 0;
    io::ByteSource& rest_;
};

// Both deltas are held whole and compressed with a pledged size, so that zstd sizes its
// tables for them (level 19 of an unknown size would allocate some 90 MB).
std::uint64_t compressed_size(const std::vector<std::uint8_t>& delta, int level)
{
    io::NullSink counter;
    io::CompressOptions options;
    options.level = level;
    options.small_level = level;
    options.small_bytes = delta.size();
    auto z = io::make_compressor(counter, io::Codec::zstd, options);
    z->write(delta);
    z->finish();
    return counter.bytes();
}

class SmallerOfEncoder final : public Encoder {
public:
    SmallerOfEncoder(std::unique_ptr<Encoder> primary, SmallerOfOptions options)
        : primary_(std::move(primary)), options_(options)
    {
    }

    [[nodiscard]] std::string name() const override { return primary_->name(); }

    EncodeResult encode(io::ByteSource& base, io::ByteSource& target, io::ByteSink& delta) override
    {
        auto new_bytes = read_up_to(target, options_.max_input_bytes);
        if (new_bytes.size > options_.max_input_bytes) {
            ReplaySource whole(std::move(new_bytes), target);
            return primary_->encode(base, whole, delta);
        }
        auto full_bytes = read_up_to(base, options_.max_input_bytes);
        if (full_bytes.size > options_.max_input_bytes) {
            ReplaySource whole(std::move(full_bytes), base);
            SpanSource new_view(new_bytes.view(), target.name());
            return primary_->encode(whole, new_view, delta);
        }
        return both(full_bytes.view(), new_bytes.view(), base.name(), target.name(), delta);
    }

private:
    EncodeResult both(std::span<const std::uint8_t> full, std::span<const std::uint8_t> fresh,
                      const std::string& base_name, const std::string& target_name, io::ByteSink& delta)
    {
        io::MemorySink primary_delta;
        EncodeResult primary_result;
        {
            SpanSource b(full, base_name);
            SpanSource t(fresh, target_name);
            primary_result = primary_->encode(b, t, primary_delta);
        }
        io::MemorySink xdelta3_delta;
        EncodeResult xdelta3_result;
        try {
            // The whole full in its source window (matches anywhere, as stock xdelta3
            // finds them in a seekable file), windows and tables sized for the inputs
            // (8 MiB at least: smaller source windows found fewer matches in tests).
            Xdelta3Options xo = options_.xdelta3;
            xo.source_window = std::max<std::uint64_t>(std::uint64_t{8} << 20, full.size());
            xo.target_window = std::max<std::uint64_t>(fresh.size(), 1);
            SpanSource b(full, base_name);
            SpanSource t(fresh, target_name);
            xdelta3_result = make_xdelta3_encoder(xo)->encode(b, t, xdelta3_delta);
        } catch (const io::Error&) {
            return emit(primary_delta, primary_result, full.size(), delta);
        }
        // The writer's level for small deltas; a fast one beyond (level 19 of tens of
        // MB would take longer than the encoding).
        const std::size_t larger = std::max(xdelta3_delta.data().size(), primary_delta.data().size());
        const int level = larger <= options_.compare_small_bytes ? options_.compare_level : 1;
        const bool xdelta3_smaller =
            compressed_size(xdelta3_delta.data(), level) < compressed_size(primary_delta.data(), level);
        return xdelta3_smaller ? emit(xdelta3_delta, xdelta3_result, full.size(), delta)
                               : emit(primary_delta, primary_result, full.size(), delta);
    }

    static EncodeResult emit(const io::MemorySink& chosen, EncodeResult result, std::uint64_t full_size,
                             io::ByteSink& delta)
    {
        delta.write(chosen.data());
        result.base_bytes = full_size;  // all of the full was read, whatever the encoder needed
        return result;
    }

    std::unique_ptr<Encoder> primary_;
    SmallerOfOptions options_;
};

}  // namespace

std::unique_ptr<Encoder> make_smaller_of_encoder(std::unique_ptr<Encoder> primary, SmallerOfOptions options)
{
    return std::make_unique<SmallerOfEncoder>(std::move(primary), options);
}

}  // namespace pvediff::engine
