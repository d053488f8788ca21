// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The full's bytes by random access, from a full written in frames (FramedSource): any
// range is the frames that hold it, each decompressed whole. A few frames are kept
// decompressed (one per reader), so a window that copies from a few places far ahead
// decompresses each of them once.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pvediff/engine/delta.h"

namespace pvediff::engine::detail {

class SourceFrames {
public:
    // Throws io::Error naming `name` when the frames are not contiguous from 0 or one
    // is larger than a frame may be (io::ZstdFrameReader::max_frame_bytes).
    // `tolerated`: see wasteful() (DecodeOptions::frame_waste_tolerated).
    SourceFrames(FramedSource framed, std::string name, std::uint64_t tolerated);
    ~SourceFrames();
    SourceFrames(const SourceFrames&) = delete;
    SourceFrames& operator=(const SourceFrames&) = delete;

    // The end of the content the frames hold.
    [[nodiscard]] std::uint64_t content_size() const;
    // Copies the full's bytes at [offset, offset + out.size()) into `out`; throws
    // io::Error when the frames end before, or a frame cannot be read.
    void copy_to(std::uint64_t offset, std::span<std::uint8_t> out);

    [[nodiscard]] std::uint64_t frames_read() const;
    [[nodiscard]] std::uint64_t bytes_read() const;
    // Content decompressed for copy_to(), and the bytes it gave.
    [[nodiscard]] std::uint64_t content_decompressed() const { return decompressed_; }
    [[nodiscard]] std::uint64_t content_given() const { return given_; }
    // Whether random access costs far more than it gives: more than `tolerated`
    // decompressed, 8 times what was asked for or more. Copies of small pieces from all
    // over the full (a guest's files copied into a new directory) decompress a whole
    // frame each, again and again as windows come back to the same frames; reading
    // forward then costs less.
    [[nodiscard]] bool wasteful() const;

private:
    std::span<const std::uint8_t> content_of(std::size_t frame);

    struct Slot {
        std::unique_ptr<io::ZstdFrameReader> reader;
        std::size_t frame = SIZE_MAX;
        std::uint64_t used = 0;
    };
    FramedSource framed_;
    std::string name_;
    std::array<Slot, 4> slots_;
    std::uint64_t clock_ = 0;
    std::uint64_t tolerated_;
    std::uint64_t decompressed_ = 0;
    std::uint64_t given_ = 0;
};

}  // namespace pvediff::engine::detail
