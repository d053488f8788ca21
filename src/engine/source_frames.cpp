// SPDX-License-Identifier: GPL-2.0-or-later
#include "source_frames.h"

#include <algorithm>
#include <cstring>

#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

SourceFrames::SourceFrames(FramedSource framed, std::string name, std::uint64_t tolerated)
    : framed_(std::move(framed)), name_(std::move(name)), tolerated_(tolerated)
{
    std::uint64_t end = 0;
    for (const SourceFrame& f : framed_.frames) {
        if (f.content_offset != end || f.content_length == 0 ||
            f.content_length > io::ZstdFrameReader::max_frame_bytes) {
            throw io::file_error(
                name_, "frame of {} bytes at content offset {}: not where the frames before end ({})",
                f.content_length, f.content_offset, end);
        }
        end += f.content_length;
    }
    if (!framed_.open) {
        throw io::file_error(name_, "frames without a way to read them");
    }
}

SourceFrames::~SourceFrames() = default;

std::uint64_t SourceFrames::content_size() const
{
    return framed_.frames.empty()
               ? 0
               : framed_.frames.back().content_offset + framed_.frames.back().content_length;
}

std::span<const std::uint8_t> SourceFrames::content_of(std::size_t frame)
{
    ++clock_;
    Slot* slot = &slots_[0];
    for (Slot& s : slots_) {
        if (s.frame == frame) {
            slot = &s;
            break;
        }
        if (s.used < slot->used) {
            slot = &s;
        }
    }
    if (!slot->reader) {
        slot->reader = framed_.open();
    }
    const SourceFrame& f = framed_.frames[frame];
    slot->frame = SIZE_MAX;  // until the frame is read
    const std::uint64_t read_before = slot->reader->frames_read();
    const auto content =
        slot->reader->frame(f.file_offset, f.file_size, static_cast<std::size_t>(f.content_length));
    if (slot->reader->frames_read() != read_before) {
        decompressed_ += f.content_length;
    }
    slot->frame = frame;
    slot->used = clock_;
    return content;
}

void SourceFrames::copy_to(std::uint64_t offset, std::span<std::uint8_t> out)
{
    const auto& frames = framed_.frames;
    if (out.empty()) {
        return;
    }
    if (offset + out.size() > content_size()) {
        throw io::file_error(name_, "bytes {}..{} asked for, but its frames hold {} bytes", offset,
                             offset + out.size(), content_size());
    }
    // The last frame that begins at or before `offset`.
    auto it = std::upper_bound(frames.begin(), frames.end(), offset,
                               [](std::uint64_t o, const SourceFrame& f) { return o < f.content_offset; });
    auto i = static_cast<std::size_t>(std::prev(it) - frames.begin());
    while (!out.empty()) {
        const SourceFrame& f = frames[i];
        const auto content = content_of(i);
        const auto from = static_cast<std::size_t>(offset - f.content_offset);
        const std::size_t n = std::min(out.size(), content.size() - from);
        std::memcpy(out.data(), content.data() + from, n);
        given_ += n;
        out = out.subspan(n);
        offset += n;
        ++i;
    }
}

bool SourceFrames::wasteful() const
{
    constexpr std::uint64_t ratio = 8;
    return decompressed_ > tolerated_ && decompressed_ / ratio >= given_;
}

std::uint64_t SourceFrames::frames_read() const
{
    std::uint64_t n = 0;
    for (const Slot& s : slots_) {
        n += s.reader ? s.reader->frames_read() : 0;
    }
    return n;
}

std::uint64_t SourceFrames::bytes_read() const
{
    std::uint64_t n = 0;
    for (const Slot& s : slots_) {
        n += s.reader ? s.reader->bytes_read() : 0;
    }
    return n;
}

}  // namespace pvediff::engine::detail
