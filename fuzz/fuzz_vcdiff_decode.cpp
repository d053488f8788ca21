// SPDX-License-Identifier: GPL-2.0-or-later
// engine::decode() of an arbitrary VCDIFF stream against a fixed small full: the scan
// pass, the plan, the source server and stash (spilling: a low memory limit) and
// xdelta3's decoder including its secondary decompressors.
//
// Oracle: whatever decode() rebuilds (when small enough to keep) must equal what
// xdelta3's one-shot xd3_decode_memory() makes of the same delta with the whole full in
// memory. decode() reads the full once and keeps aside only what its plan says later
// windows need, so this checks the scan, the plan, the stash and the block server.
//
// The full is the output of `seq 1 30000` (168894 bytes, not a whole number of 64 KiB
// blocks), which fuzz/make_seeds.sh can make with the same tool for the seed deltas.
//
// Each delta is decoded a second time with the full also given in zstd frames
// (DecodeOptions::framed, as a VMA full kept in frames is): windows that copy from far
// ahead then take those bytes from their frames, until random access is given up as
// wasteful (a limit of 0 or 64 KiB, chosen by the input's length). Oracle: the same
// bytes, or the same refusal.
#include <filesystem>
#include <string>

#include "fuzz_util.h"
#include "pvediff/engine/delta.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/zstd_frame_reader.h"
#include "xdelta3_oracle.h"

namespace {

const std::vector<std::uint8_t>& full_content()
{
    static const std::vector<std::uint8_t> full = [] {
        std::vector<std::uint8_t> out;
        for (int i = 1; i <= 30000; ++i) {
            const std::string line = std::to_string(i) + "\n";
            out.insert(out.end(), line.begin(), line.end());
        }
        return out;
    }();
    return full;
}

// The full in frames of 4000 bytes (the last shorter), in a file of the work dir.
const pvediff::engine::FramedSource& full_in_frames()
{
    static const pvediff::engine::FramedSource framed = [] {
        const auto& full = full_content();
        constexpr std::size_t frame_content = 4000;
        pvediff::engine::FramedSource out;
        std::vector<std::uint8_t> file;
        for (std::size_t at = 0; at < full.size(); at += frame_content) {
            const std::size_t n = std::min(frame_content, full.size() - at);
            // One zstd frame, with a content checksum, by the writer that writes fulls.
            pvediff::io::MemorySink frame;
            const auto zstd = pvediff::io::make_compressor(frame, pvediff::io::Codec::zstd);
            zstd->write(std::span(full).subspan(at, n));
            zstd->finish();
            out.frames.push_back({at, n, file.size(), static_cast<std::uint32_t>(frame.data().size())});
            file.insert(file.end(), frame.data().begin(), frame.data().end());
        }
        const auto path = pvediff::fuzz::work_dir() / "full.zst";
        pvediff::fuzz::write_file(path, file);
        out.open = [path] {
            return std::make_unique<pvediff::io::ZstdFrameReader>(pvediff::io::open_regular_file(path),
                                                                  path.string());
        };
        return out;
    }();
    return framed;
}

// A delta of a few bytes can legitimately describe gigabytes of output (a RUN per
// 16 MiB window); past this much output the input has shown all it can.
struct OutputCapReached {};

// Keeps the first `kept_max` bytes for the oracle, then only counts.
class CappedSink final : public pvediff::io::ByteSink {
public:
    static constexpr std::size_t kept_max = 4 << 20;

    void write(std::span<const std::uint8_t> data) override
    {
        bytes_ += data.size();
        if (bytes_ > cap) {
            throw OutputCapReached{};
        }
        if (bytes_ <= kept_max) {
            kept_.insert(kept_.end(), data.begin(), data.end());
        }
    }
    [[nodiscard]] const std::vector<std::uint8_t>& kept() const { return kept_; }
    void finish() override {}
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    static constexpr std::uint64_t cap = std::uint64_t{64} << 20;
    std::uint64_t bytes_ = 0;
    std::vector<std::uint8_t> kept_;
    std::string name_ = "<output>";
};

// What decode() made of the delta: its output as far as kept, or that it refused it.
struct Outcome {
    bool refused = false;
    bool capped = false;
    std::uint64_t bytes = 0;
    std::vector<std::uint8_t> kept;
};

Outcome decode_once(std::span<const std::uint8_t> delta, const pvediff::engine::DecodeOptions& options)
{
    using namespace pvediff;
    const auto& full = full_content();
    io::MemorySource base(full, "full");
    const auto opener = [delta] {
        return std::make_unique<io::MemorySource>(fuzz::copy(delta.data(), delta.size()), "delta");
    };
    CappedSink out;
    Outcome o;
    try {
        const engine::DecodeResult r = engine::decode(base, opener, out, options);
        FUZZ_CHECK(r.target_bytes == out.bytes());
        FUZZ_CHECK(r.base_bytes_read <= full.size());
        FUZZ_CHECK(options.framed || r.frames_read == 0);
    } catch (const io::Error&) {
        o.refused = true;
    } catch (const OutputCapReached&) {
        o.capped = true;
    }
    o.bytes = out.bytes();
    o.kept = out.kept();
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    const auto& full = full_content();
    engine::DecodeOptions options;
    options.spill_dir = fuzz::work_dir();
    options.memory_limit = 64 * 1024;
    const Outcome forward = decode_once({data, size}, options);
    if (!forward.refused && !forward.capped && forward.bytes <= CappedSink::kept_max) {
        FUZZ_CHECK(fuzz::xdelta3_rebuild({data, size}, full, forward.bytes) == forward.kept);
    }
    options.framed = full_in_frames();
    options.frame_waste_tolerated = size % 2 == 0 ? 0 : 64 * 1024;
    const Outcome framed = decode_once({data, size}, options);
    FUZZ_CHECK(framed.refused == forward.refused);
    if (!framed.refused && !framed.capped && !forward.capped) {
        FUZZ_CHECK(framed.bytes == forward.bytes);
        FUZZ_CHECK(framed.kept == forward.kept);
    }
    return 0;
}
