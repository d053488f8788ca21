// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The two interfaces all data flows through: a pull-style source and a push-style
// sink. Every stage (file, codec, hashing, thread hand-off, delta engine) is one of
// these, so stages compose without knowing each other and nothing ever needs a whole
// archive in memory.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pvediff::io {

// Buffer size used between stages unless a codec recommends its own.
inline constexpr std::size_t stream_buffer_size = 1 << 20;

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Reads up to buf.size() bytes. Returns 0 only at the end of the stream, never
    // for a non-empty buf before it. Throws io::Error naming the stream on failure.
    virtual std::size_t read(std::span<std::uint8_t> buf) = 0;
    // What to call this stream in messages: a path, "<stdin>", ...
    [[nodiscard]] virtual const std::string& name() const = 0;
};

class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual void write(std::span<const std::uint8_t> data) = 0;
    // Ends the stream: flushes codec trailers and buffered bytes down the chain
    // (finishing inner sinks too). No write() may follow. A sink destroyed without
    // finish() leaves its output incomplete, which is what a failed run wants.
    virtual void finish() = 0;
    [[nodiscard]] virtual const std::string& name() const = 0;
    // A hint: the bytes written before and after differ in kind (literal bytes that do
    // not compress, instructions that do), so a codec that compresses in blocks may
    // end one here. zstd stores a block raw unless it saves 1/64 of it, so a few
    // hundred compressible bytes in a block of random ones stay uncompressed. Stages
    // that pass bytes on pass the hint on; the others ignore it.
    virtual void mark_boundary() {}
};

// Reads until buf is full or the stream ends; returns the count read.
std::size_t read_full(ByteSource& source, std::span<std::uint8_t> buf);
// Copies source to sink through one fixed buffer (does not call finish()).
std::uint64_t copy_stream(ByteSource& source, ByteSink& sink, std::size_t buffer_size = stream_buffer_size);
// Reads source to its end and drops the bytes: for a stream whose stages (hashing,
// checking) must see all of it.
void drain(ByteSource& source);

// In-memory endpoints, for tests and small metadata.
class MemorySource final : public ByteSource {
public:
    explicit MemorySource(std::vector<std::uint8_t> data, std::string name = "<memory>");
    std::size_t read(std::span<std::uint8_t> buf) override;
    [[nodiscard]] const std::string& name() const override { return name_; }

private:
    std::vector<std::uint8_t> data_;
    std::size_t pos_ = 0;
    std::string name_;
};

class MemorySink final : public ByteSink {
public:
    explicit MemorySink(std::string name = "<memory>") : name_(std::move(name)) {}
    void write(std::span<const std::uint8_t> data) override;
    void finish() override { finished_ = true; }
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] const std::vector<std::uint8_t>& data() const { return data_; }
    [[nodiscard]] bool finished() const { return finished_; }

private:
    std::vector<std::uint8_t> data_;
    std::string name_;
    bool finished_ = false;
};

// Replays already-consumed bytes (e.g. magic bytes read for detection) before the
// rest of the inner stream.
class PrefixedSource final : public ByteSource {
public:
    PrefixedSource(std::vector<std::uint8_t> prefix, std::unique_ptr<ByteSource> inner);
    std::size_t read(std::span<std::uint8_t> buf) override;
    [[nodiscard]] const std::string& name() const override { return inner_->name(); }

private:
    std::vector<std::uint8_t> prefix_;
    std::size_t pos_ = 0;
    std::unique_ptr<ByteSource> inner_;
};

// Non-owning views of a stream owned elsewhere, for stages that take ownership of
// theirs (a read-ahead thread, a compressor, PrefixedSource).
class SourceRef final : public ByteSource {
public:
    explicit SourceRef(ByteSource& inner) : inner_(inner) {}
    std::size_t read(std::span<std::uint8_t> buf) override { return inner_.read(buf); }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }

private:
    ByteSource& inner_;
};

// `forward_finish` false: finish() leaves the inner sink open, for an owner that
// finishes it itself.
class SinkRef final : public ByteSink {
public:
    explicit SinkRef(ByteSink& inner, bool forward_finish = true)
        : inner_(inner), forward_finish_(forward_finish)
    {
    }
    void write(std::span<const std::uint8_t> data) override { inner_.write(data); }
    void finish() override
    {
        if (forward_finish_) {
            inner_.finish();
        }
    }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }

private:
    ByteSink& inner_;
    bool forward_finish_;
};

// Discards everything; counts bytes.
class NullSink final : public ByteSink {
public:
    void write(std::span<const std::uint8_t> data) override { bytes_ += data.size(); }
    void finish() override {}
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    std::uint64_t bytes_ = 0;
    std::string name_ = "<null>";
};

}  // namespace pvediff::io
