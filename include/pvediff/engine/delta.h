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
#include <string>
#include <string_view>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"

namespace pvediff::engine {

struct EncodeResult {
    std::uint64_t base_bytes = 0;    // bytes of the full read
    std::uint64_t target_bytes = 0;  // bytes of the new archive
    io::Digest target_sha256{};      // of the new archive's decompressed content
    std::uint64_t delta_bytes = 0;   // VCDIFF bytes written (before outer compression)
    std::uint64_t copied_bytes = 0;  // target bytes expressed as copies from the full
    std::uint64_t literal_bytes = 0; // target bytes stored as literals
    std::uint64_t windows = 0;
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
};
std::unique_ptr<Encoder> make_xdelta3_encoder(Xdelta3Options options = {});

// The encoder registry: "xdelta3", "chunked", or "default" (the best available).
// Throws io::Error naming the unknown engine.
std::unique_ptr<Encoder> make_encoder(std::string_view name);

struct DecodeOptions {
    // Where source ranges that a later window needs again are spilled once they
    // exceed memory_limit (a temporary file, removed afterwards).
    std::filesystem::path spill_dir = ".";
    std::uint64_t memory_limit = std::uint64_t{64} << 20;
};

struct DecodeResult {
    std::uint64_t target_bytes = 0;
    std::uint64_t base_bytes_read = 0;
    std::uint64_t windows = 0;
    std::uint64_t kept_aside_peak = 0;  // most bytes of the full held for later windows at once
    std::uint64_t spilled_bytes = 0;    // of which written to the spill file
};

// Opens the decompressed VCDIFF stream; called twice by decode() (a scan of the
// windows' source needs, then the decoding itself).
using DeltaOpener = std::function<std::unique_ptr<io::ByteSource>()>;

// Rebuilds the target into `out`, reading `base` (the decompressed full) exactly
// once, front to back, and keeping aside only the ranges that a later window needs.
// Works for any VCDIFF that xdelta3 decodes, including secondary compression.
// Does not call out.finish(), and may leave the rest of `base` unread.
DecodeResult decode(io::ByteSource& base, const DeltaOpener& open_delta, io::ByteSink& out,
                    const DecodeOptions& options = {});

}  // namespace pvediff::engine
