// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The delta engine's interface: encode a new archive against a full into a standard
// VCDIFF stream (RFC 3284, readable by stock `xdelta3 -d -s`), and decode one back.
// Both sides work on decompressed streams; codecs and files are the caller's business.
// The engine never prints: figures come back in the result structs.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"
#include "pvediff/io/xxh128.h"
#include "pvediff/io/zstd_frame_reader.h"

namespace pvediff::engine {

struct EncodeResult {
    std::uint64_t base_bytes = 0;     // bytes of the full read
    std::uint64_t target_bytes = 0;   // bytes of the new archive
    io::Digest target_sha256{};       // of the new archive's decompressed content
    std::uint64_t delta_bytes = 0;    // VCDIFF bytes written (before outer compression)
    std::uint64_t copied_bytes = 0;   // target bytes expressed as copies from the full
    std::uint64_t literal_bytes = 0;  // target bytes stored as literals
    std::uint64_t windows = 0;
    // The full's content SHA-256, when the encoder read all of it and was asked to
    // (ChunkEncoderOptions::proof).
    std::optional<io::Digest> base_sha256;
    // The full's content XXH3-128, taken on the same read as base_sha256: what an
    // index of version 4 lacks (ChunkIndex::content_xxh128), so that it can be saved
    // again with it.
    std::optional<io::Xxh128Digest> base_xxh128;
    // The delta written is the one recorded in ChunkEncoderOptions::proof. False when no
    // proof was asked for, or a wrapper wrote another encoder's delta (smaller_of_encoder.h):
    // the caller then proves it by decoding it.
    bool proof_covers_delta = false;
};

class Encoder {
public:
    virtual ~Encoder() = default;
    [[nodiscard]] virtual std::string name() const = 0;
    // base, target: decompressed streams, each read once, front to back.
    // Does not call delta.finish(): the caller owns the sink chain.
    virtual EncodeResult encode(io::ByteSource& base, io::ByteSource& target, io::ByteSink& delta) = 0;
};

// Plain streaming xdelta3 (what the older add-on did): matches only within a
// source window around the current position.
struct Xdelta3Options {
    std::uint64_t source_window = std::uint64_t{64} << 20;  // like xdelta3 -B
    int level = 3;                                          // like xdelta3 -1..-9
    // Target window (like xdelta3 -W), rounded up to a power of two between 64 KiB and
    // 8 MiB; 0 = 8 MiB, stock xdelta3's default. Smaller inputs need smaller tables.
    std::uint64_t target_window = 0;
};
std::unique_ptr<Encoder> make_xdelta3_encoder(Xdelta3Options options = {});

// The encoder registry: "xdelta3", "chunked", or "default" (the best available).
// Throws io::Error naming the unknown engine.
std::unique_ptr<Encoder> make_encoder(std::string_view name);

// Without a known target size, decode() lets the rebuilt archive grow to at most
// its literal bytes (ADD data, which the delta carries) plus this many times the bytes
// of the full read so far plus the slack below; past that it reads the full further
// to raise the allowance, and stops with an error when the full ends first. Copies and
// runs are what a few bytes of delta can multiply without limit (a 126-byte delta of
// RUN windows describes 1 TiB); a real archive copies each byte of its full about once.
inline constexpr std::uint64_t unknown_target_copy_ratio = 4;
inline constexpr std::uint64_t unknown_target_slack = std::uint64_t{4} << 30;

// A full written as independent zstd frames (docs/formats.md, "A full written in
// frames"): where each frame's content lies in the full and in the file.
struct SourceFrame {
    std::uint64_t content_offset = 0;
    std::uint64_t content_length = 0;
    std::uint64_t file_offset = 0;
    std::uint32_t file_size = 0;
};
struct FramedSource {
    // In content order, each beginning where the one before ends, the first at 0.
    std::vector<SourceFrame> frames;
    // A reader of the full's frames; called a few times (each reader keeps its last
    // frame, so a window that alternates between a few frames decompresses each once).
    std::function<std::unique_ptr<io::ZstdFrameReader>()> open;
};

struct DecodeOptions {
    // Where source ranges that a later window needs again are spilled once they
    // exceed memory_limit (a temporary file, removed afterwards).
    std::filesystem::path spill_dir = ".";
    // Where they go when spill_dir cannot take the file (a read-only dump dir, one this
    // user may only read); empty: nowhere else.
    std::filesystem::path fallback_spill_dir;
    std::uint64_t memory_limit = std::uint64_t{64} << 20;
    // The rebuilt archive's size when known (a differential's manifest records it): a
    // delta whose windows add up to more is refused before anything is written, and
    // the output stops with an error at the first byte beyond it. Unset: the bound of
    // unknown_target_copy_ratio applies.
    std::optional<std::uint64_t> max_target_bytes;
    // The full's decompressed size when known (the manifests record it): a copy from
    // beyond it is refused as soon as the scan reads it.
    std::optional<std::uint64_t> source_size;
    // The full's frames, when it was written in frames: a window that copies from so
    // far ahead that reading the full forward to it would set aside more than
    // memory_limit takes those bytes from their frames instead (a 2 GB VMA whose
    // clusters came in another order set aside 1.7 GiB, spilled to disk and read back).
    std::optional<FramedSource> framed;
    // Random access is given up for reading forward once it has decompressed more than
    // this, 8 times what it gave or more (detail::SourceFrames::wasteful).
    std::uint64_t frame_waste_tolerated = std::uint64_t{256} << 20;
};

struct DecodeResult {
    std::uint64_t target_bytes = 0;
    std::uint64_t base_bytes_read = 0;
    std::uint64_t windows = 0;
    std::uint64_t kept_aside_peak = 0;   // most bytes of the full held for later windows at once
    std::uint64_t spilled_bytes = 0;     // of which written to the spill file
    std::uint64_t spilled_peak = 0;      // most spilled bytes held at once: the spill file's disk use
    std::uint64_t plan_pieces = 0;       // pieces of the full the plan tracked (bounded)
    std::uint64_t frames_read = 0;       // frames of the full decompressed for ranges far ahead
    std::uint64_t frame_bytes_read = 0;  // their compressed bytes
    // Random access was given up for reading forward, as it decompressed far more of
    // the full than it gave (content_decompressed against content_given).
    bool frames_given_up = false;
    std::uint64_t frame_content_decompressed = 0;
    std::uint64_t frame_content_given = 0;
};

// Opens the decompressed VCDIFF stream; called twice by decode() (a scan of the
// windows' source needs, then the decoding itself).
using DeltaOpener = std::function<std::unique_ptr<io::ByteSource>()>;

// Rebuilds the target into `out`, reading `base` (the decompressed full) exactly
// once, front to back, and keeping aside only the ranges that a later window needs
// (with options.framed, ranges far ahead come from their frames instead).
// Works for any VCDIFF that xdelta3 decodes, including secondary compression.
// Does not call out.finish(), and may leave the rest of `base` unread.
// Memory stays bounded whatever the delta says: the plan of what to keep aside is
// coarsened past a fixed number of pieces, what is kept aside beyond memory_limit goes
// to the spill file, and each window's sections are checked against its target size
// before xdelta3 allocates them (see docs/reliability.md, "Worst-case memory").
DecodeResult decode(io::ByteSource& base, const DeltaOpener& open_delta, io::ByteSink& out,
                    const DecodeOptions& options = {});

}  // namespace pvediff::engine
