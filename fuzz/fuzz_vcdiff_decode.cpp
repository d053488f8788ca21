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
#include <filesystem>
#include <string>

#include "fuzz_util.h"
#include "pvediff/engine/delta.h"

extern "C" {
#include "xdelta3.h"
}

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    const auto& full = full_content();
    io::MemorySource base(full, "full");
    const auto opener = [data, size] {
        return std::make_unique<io::MemorySource>(fuzz::copy(data, size), "delta");
    };
    engine::DecodeOptions options;
    options.spill_dir = std::filesystem::temp_directory_path();
    options.memory_limit = 64 * 1024;
    CappedSink out;
    try {
        const engine::DecodeResult r = engine::decode(base, opener, out, options);
        FUZZ_CHECK(r.target_bytes == out.bytes());
        FUZZ_CHECK(r.base_bytes_read <= full.size());
        if (out.bytes() <= CappedSink::kept_max) {
            std::vector<std::uint8_t> expected(out.bytes() + 1);
            usize_t expected_size = 0;
            const int ret = xd3_decode_memory(data, static_cast<usize_t>(size), full.data(),
                                              static_cast<usize_t>(full.size()), expected.data(),
                                              &expected_size, static_cast<usize_t>(expected.size()), 0);
            if (ret != 0) {
                std::fprintf(stderr, "xd3_decode_memory: %s\n", xd3_strerror(ret));
            }
            FUZZ_CHECK(ret == 0);
            expected.resize(expected_size);
            FUZZ_CHECK(expected == out.kept());
        }
    } catch (const io::Error&) {
    } catch (const OutputCapReached&) {
    }
    return 0;
}
