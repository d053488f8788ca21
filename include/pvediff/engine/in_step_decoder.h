// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Decoding a differential in step with one forward read of its full, holding only the
// last few MiB of the full (docs/nbd.md, "Day 2 and later: the previous differential
// decoded in step"). Meant for a differential that `backup --nbd`'s plan path wrote: it
// COPYs only from the full's extent header and clusters at the same place in the stream
// as its own, so while the target's extent N is read, the full's extent N has just been
// read. Anything else (a COPY of bytes of the full already dropped or not yet read, a
// COPY from the target window, compressed sections, a window without its Adler-32) is
// refused with InStepRefused naming the differential, and the caller decodes it the
// general way instead. Each window's Adler-32 is checked when its last byte is read.
//
// Memory: the kept bytes of the full (RecentBytes) and one window's sections (bounded
// per target byte as vcdiff_reader.h states; windows are at most 16 MiB).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/error.h"

namespace pvediff::engine {

// The differential needs bytes of the full that this decoder does not hold.
class InStepRefused : public io::Error {
public:
    using io::Error::Error;
};

// A pass-through stage over the full's stream that keeps its last `keep` bytes read,
// for the in-step decoder to copy from.
class RecentBytes final : public io::ByteSource {
public:
    RecentBytes(io::ByteSource& inner, std::size_t keep);
    std::size_t read(std::span<std::uint8_t> buf) override;
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    // Copies the full's bytes [offset, offset + out.size()) into out; false when they
    // are not all kept (dropped already, or not read yet).
    bool copy(std::uint64_t offset, std::span<std::uint8_t> out) const;
    [[nodiscard]] std::uint64_t kept_from() const { return read_ > ring_.size() ? read_ - ring_.size() : 0; }
    [[nodiscard]] std::uint64_t read_so_far() const { return read_; }

private:
    io::ByteSource& inner_;
    std::vector<std::uint8_t> ring_;  // byte p of the full at ring_[p % size]
    std::uint64_t read_ = 0;
};

// The target of a VCDIFF stream (decompressed), produced as it is read. A read returns
// at most the bytes asked for, so a caller reading exact lengths in step with the full
// never makes it copy ahead of the full's read.
class InStepDecoder final : public io::ByteSource {
public:
    // `delta`: the VCDIFF bytes (its name is the differential's, for messages).
    InStepDecoder(std::unique_ptr<io::ByteSource> delta, const RecentBytes& full);
    ~InStepDecoder() override;
    InStepDecoder(const InStepDecoder&) = delete;
    InStepDecoder& operator=(const InStepDecoder&) = delete;

    // Throws InStepRefused (above), or io::Error naming the differential and the offset
    // of a damaged window (a wrong Adler-32 among them).
    std::size_t read(std::span<std::uint8_t> buf) override;
    [[nodiscard]] const std::string& name() const override;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace pvediff::engine
