// SPDX-License-Identifier: GPL-2.0-or-later
// engine::decode() of an arbitrary, possibly multi-window VCDIFF stream against a full
// of a size the input chooses, with and without the bounds the manifests give: the
// memory the decoder takes must stay bounded whatever the delta says (run with
// -rss_limit_mb=512, see run.sh), and the bounds must hold.
//
// Input: 8 bytes of settings, then the VCDIFF stream.
//   byte 0: full size = (byte 0 % 64 + 1) x 64 KiB (64 KiB .. 4 MiB), 1000 bytes
//           less when byte 1 is odd (not a whole number of blocks)
//   byte 2: bit 0: give source_size (bit 1: one too small, a wrong manifest);
//           bit 2: give max_target_bytes = bytes 3..6 (big-endian, in 16-byte units)
// The full's bytes are made on the fly from their offsets, so a large full costs no
// memory here. Invariants: the output is what decode() reports, never more than
// max_target_bytes; the full is read no further than its end; what is kept aside is
// at most the full.
#include <algorithm>
#include <filesystem>
#include <string>

#include "fuzz_util.h"
#include "pvediff/engine/delta.h"

namespace {

// Deterministic bytes of any length: a cheap mix of the offset.
class GeneratedFull final : public pvediff::io::ByteSource {
public:
    explicit GeneratedFull(std::uint64_t size) : size_(size) {}

    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - pos_));
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t x = (pos_ + i) / 7;
            x ^= x >> 13;
            x *= 0x9E3779B97F4A7C15ULL;
            buf[i] = static_cast<std::uint8_t>(x >> 56);
        }
        pos_ += n;
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::uint64_t size() const { return size_; }

private:
    std::uint64_t size_;
    std::uint64_t pos_ = 0;
    std::string name_ = "full";
};

// A delta can describe gigabytes (runs, repeated copies); past this the input has
// shown what it can, and the fuzzer stays fast.
struct OutputCapReached {};

class CountingSink final : public pvediff::io::ByteSink {
public:
    void write(std::span<const std::uint8_t> data) override
    {
        bytes_ += data.size();
        if (bytes_ > cap) {
            throw OutputCapReached{};
        }
    }
    void finish() override {}
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    static constexpr std::uint64_t cap = std::uint64_t{256} << 20;
    std::uint64_t bytes_ = 0;
    std::string name_ = "<output>";
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    constexpr std::size_t settings = 8;
    if (size < settings) {
        return 0;
    }
    const std::uint64_t full_size = (data[0] % 64 + 1) * std::uint64_t{64 * 1024} - (data[1] % 2 ? 1000 : 0);
    GeneratedFull base(full_size);
    const auto opener = [data, size] {
        return std::make_unique<io::MemorySource>(fuzz::copy(data + settings, size - settings), "delta");
    };
    engine::DecodeOptions options;
    options.spill_dir = std::filesystem::temp_directory_path();
    options.memory_limit = 256 * 1024;
    if (data[2] & 1) {
        options.source_size = full_size - (data[2] & 2 ? 1 : 0);
    }
    if (data[2] & 4) {
        const std::uint64_t units = (std::uint64_t{data[3]} << 24) | (std::uint64_t{data[4]} << 16) |
                                    (std::uint64_t{data[5]} << 8) | data[6];
        options.max_target_bytes = units * 16;
    }
    CountingSink out;
    try {
        const engine::DecodeResult r = engine::decode(base, opener, out, options);
        FUZZ_CHECK(r.target_bytes == out.bytes());
        FUZZ_CHECK(r.base_bytes_read <= full_size);
        FUZZ_CHECK(r.kept_aside_peak <= full_size);
        if (options.max_target_bytes) {
            FUZZ_CHECK(r.target_bytes <= *options.max_target_bytes);
        }
    } catch (const io::Error&) {
        if (options.max_target_bytes) {
            FUZZ_CHECK(out.bytes() <= *options.max_target_bytes);
        }
    } catch (const OutputCapReached&) {
    }
    return 0;
}
