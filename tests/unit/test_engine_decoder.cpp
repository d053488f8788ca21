// SPDX-License-Identifier: GPL-2.0-or-later
// engine::decode: stock xdelta3 deltas (plain and secondary-compressed) whose windows
// read the full out of order, the stash under a tiny memory limit (spilling), output
// before the whole full is read, and clean failures for wrong fulls and damaged deltas.
#include <gtest/gtest.h>

#include "pvediff/engine/delta.h"
#include "pvediff/io/error.h"
#include "test_engine_delta_helpers.h"

namespace pvediff::engine {
// Not anonymous: the test binary is compiled in unity batches, where another file
// defines fixtures of the same names.
namespace test_engine_decoder {

using Bytes = std::vector<std::uint8_t>;
using test_delta::decode_bytes;

struct Case {
    Bytes base, target, delta;
};

Case shuffled_case(const test::TempDir& dir, const std::string& args, std::size_t size = 3 << 20)
{
    Case c;
    c.base = test::make_data(size, 11);
    c.target = test_delta::shuffled(c.base, 50000, 5);
    // A source window as large as the full: matches anywhere, windows out of order.
    c.delta = test_delta::stock_encode(dir, c.base, c.target, args + " -B 8388608 -W 262144");
    return c;
}

TEST(Decoder, StockDeltasReadingTheFullOutOfOrder)
{
    test::TempDir dir;
    for (const std::string args : {"-S none", "", "-S djw"}) {
        const Case c = shuffled_case(dir, args);
        DecodeResult r;
        EXPECT_EQ(decode_bytes(c.base, c.delta, {}, &r), c.target) << args;
        EXPECT_EQ(r.target_bytes, c.target.size());
        EXPECT_GT(r.windows, 4u);
        EXPECT_GT(r.kept_aside_peak, 0u);
        EXPECT_EQ(r.spilled_bytes, 0u);
        EXPECT_LE(r.base_bytes_read, c.base.size());
    }
}

TEST(Decoder, TinyMemoryLimitSpillsAndGivesTheSameOutput)
{
    test::TempDir dir;
    for (const std::string args : {"-S none", ""}) {
        const Case c = shuffled_case(dir, args);
        DecodeOptions options;
        options.spill_dir = dir.path();
        options.memory_limit = 4096;
        DecodeResult r;
        EXPECT_EQ(decode_bytes(c.base, c.delta, options, &r), c.target) << args;
        EXPECT_GT(r.spilled_bytes, 0u);
        // The spill file is anonymous: nothing is left in the directory.
        for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
            EXPECT_EQ(entry.path().filename().string().find("spill"), std::string::npos) << entry.path();
        }
    }
}

TEST(Decoder, SpillsToTheFallbackWhereTheSpillDirCannotTakeAFile)
{
    // A dump dir mounted read-only, or one this user may only read: the scratch file
    // goes to the fallback (restore gives the temporary directory). A regular file in
    // place of the directory fails the same way for root too.
    test::TempDir dir;
    const std::filesystem::path not_a_dir = dir.path() / "not-a-dir";
    test::write_file(not_a_dir, Bytes{1});
    const std::filesystem::path fallback = dir.path() / "fallback";
    std::filesystem::create_directory(fallback);
    const Case c = shuffled_case(dir, "-S none");
    DecodeOptions options;
    options.spill_dir = not_a_dir;
    options.memory_limit = 4096;
    const std::string alone = test::error_of([&] { decode_bytes(c.base, c.delta, options); });
    EXPECT_NE(alone.find("cannot open '" + (not_a_dir / "").string()), std::string::npos) << alone;
    options.fallback_spill_dir = fallback;
    DecodeResult r;
    EXPECT_EQ(decode_bytes(c.base, c.delta, options, &r), c.target);
    EXPECT_GT(r.spilled_bytes, 0u);
    EXPECT_TRUE(std::filesystem::is_empty(fallback));  // anonymous there too
    // Neither can: both named.
    options.fallback_spill_dir = not_a_dir;
    const std::string neither = test::error_of([&] { decode_bytes(c.base, c.delta, options); });
    EXPECT_NE(neither.find("; nor '" + (not_a_dir / "").string()), std::string::npos) << neither;
}

TEST(Decoder, BytesNeededByManyWindowsAreKeptUntilTheLast)
{
    test::TempDir dir;
    const Bytes base = test::make_data(2 << 20, 21);
    Bytes target = test_delta::shuffled(base, 30000, 1);
    const Bytes again = test_delta::shuffled(base, 45000, 2);
    target.insert(target.end(), again.begin(), again.end());
    for (const std::string args : {"-S none", ""}) {
        const Bytes delta = test_delta::stock_encode(dir, base, target, args + " -B 8388608 -W 131072");
        for (const std::uint64_t limit : {std::uint64_t{64} << 20, std::uint64_t{100000}}) {
            DecodeOptions options;
            options.spill_dir = dir.path();
            options.memory_limit = limit;
            DecodeResult r;
            EXPECT_EQ(decode_bytes(base, delta, options, &r), target) << args << " " << limit;
            EXPECT_EQ(r.spilled_bytes > 0, limit < base.size()) << args << " " << limit;
        }
    }
}

TEST(Decoder, NeighboursReadByDifferentWindowsAreNotKeptTogether)
{
    // Reordered VMA clusters: every window reads a little ahead of the one before.
    // The pieces lie side by side in the full; were they kept as one, most of the
    // full would wait in the stash for the last window.
    test::TempDir dir;
    constexpr std::size_t block = 64 * 1024;
    const Bytes base = test::make_data(128 * block, 31);
    Bytes target;
    for (std::size_t b = 0; b < 128; b += 2) {
        for (const std::size_t pick : {b + 1, b}) {
            target.insert(target.end(), base.begin() + static_cast<std::ptrdiff_t>(pick * block),
                          base.begin() + static_cast<std::ptrdiff_t>((pick + 1) * block));
        }
    }
    const Bytes delta = test_delta::stock_encode(dir, base, target, "-S none -B 16777216 -W 131072");
    DecodeResult r;
    EXPECT_EQ(decode_bytes(base, delta, {}, &r), target);
    EXPECT_GT(r.windows, 32u);
    EXPECT_LT(r.kept_aside_peak, 4 * block) << "of a " << base.size() << "-byte full";
}

// Counts the full's bytes read when the first output arrives.
class FirstOutputProbe final : public io::ByteSink {
public:
    explicit FirstOutputProbe(const std::uint64_t& base_read) : base_read_(base_read) {}
    void write(std::span<const std::uint8_t> data) override
    {
        if (data.empty()) {
            return;
        }
        if (!seen_) {
            seen_ = true;
            at_first_output = base_read_;
        }
        bytes_.insert(bytes_.end(), data.begin(), data.end());
    }
    void finish() override {}
    [[nodiscard]] const std::string& name() const override { return name_; }
    std::uint64_t at_first_output = 0;
    Bytes bytes_;

private:
    const std::uint64_t& base_read_;
    bool seen_ = false;
    std::string name_ = "<probe>";
};

class CountingSource final : public io::ByteSource {
public:
    explicit CountingSource(const Bytes& data) : inner_(data, "<full>") {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = inner_.read(buf);
        bytes_read += n;
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    std::uint64_t bytes_read = 0;

private:
    io::MemorySource inner_;
};

TEST(Decoder, OutputStartsBeforeTheWholeFullIsRead)
{
    test::TempDir dir;
    const Bytes base = test::make_data(6 << 20, 3);
    Bytes target = base;
    target[100] ^= 0x55;
    target[5 << 20] ^= 0x55;
    const Bytes delta = test_delta::stock_encode(dir, base, target, "-S none -W 262144");
    CountingSource src(base);
    FirstOutputProbe out(src.bytes_read);
    const DecodeResult r = decode(src, test_delta::opener(delta), out);
    EXPECT_EQ(out.bytes_, target);
    EXPECT_LT(out.at_first_output, std::uint64_t{1} << 20);
    EXPECT_EQ(r.base_bytes_read, src.bytes_read);
}

TEST(Decoder, WrongFullFailsWithAMessage)
{
    test::TempDir dir;
    const Case c = shuffled_case(dir, "-S none", 1 << 20);
    Bytes wrong = c.base;
    for (std::size_t i = 0; i < wrong.size(); i += 4096) {
        wrong[i] ^= 0xFF;
    }
    try {
        decode_bytes(wrong, c.delta);
        ADD_FAILURE() << "a wrong full was accepted";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    }
    const Bytes too_short(c.base.begin(), c.base.begin() + static_cast<std::ptrdiff_t>(c.base.size() / 2));
    try {
        decode_bytes(too_short, c.delta);
        ADD_FAILURE() << "a short full was accepted";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("has only"), std::string::npos) << e.what();
    }
}

TEST(Decoder, TruncatedDeltasFailCleanly)
{
    test::TempDir dir;
    for (const std::string args : {"-S none", ""}) {
        const Case c = shuffled_case(dir, args, 400000);
        const std::size_t step = std::max<std::size_t>(1, c.delta.size() / 300);
        for (std::size_t cut = 0; cut < c.delta.size(); cut += (cut < 64 ? 1 : step)) {
            const Bytes part(c.delta.begin(), c.delta.begin() + static_cast<std::ptrdiff_t>(cut));
            try {
                const Bytes out = decode_bytes(c.base, part);
                // A cut exactly between windows is a shorter, valid delta.
                EXPECT_LT(out.size(), c.target.size()) << cut;
                EXPECT_TRUE(std::equal(out.begin(), out.end(), c.target.begin())) << cut;
            } catch (const io::Error&) {
            }
        }
    }
}

TEST(Decoder, FlippedBytesNeverGiveWrongOutputSilently)
{
    test::TempDir dir;
    for (const std::string args : {"-S none", ""}) {
        const Case c = shuffled_case(dir, args, 300000);
        const std::size_t step = std::max<std::size_t>(1, c.delta.size() / 400);
        for (std::size_t pos = 0; pos < c.delta.size(); pos += (pos < 64 ? 1 : step)) {
            for (std::uint8_t mask : {0x01, 0x80, 0xFF}) {
                Bytes bad = c.delta;
                bad[pos] ^= mask;
                try {
                    const Bytes out = decode_bytes(c.base, bad);
                    // Only bytes xdelta3 does not check (e.g. the unused bits of a
                    // varint's value in a header) may be changed without an error, and
                    // then the output must still be right.
                    EXPECT_EQ(out, c.target) << "flip at " << pos << " mask " << int(mask) << " " << args;
                } catch (const io::Error&) {
                }
            }
        }
    }
}

// A hand-made VCDIFF: each window copies 16-byte pieces of the full (VCD_SELF
// addresses); its source segment is the whole full.
class CopyDelta {
public:
    explicit CopyDelta(std::uint64_t full_size) : full_size_(full_size) { out_ = {0xD6, 0xC3, 0xC4, 0, 0}; }

    void window(const std::vector<std::uint64_t>& offsets, std::uint64_t copy = 16)
    {
        Bytes inst;
        Bytes addr;
        for (const std::uint64_t o : offsets) {
            inst.push_back(copy == 16 ? 19 + 13 : 19);  // COPY mode 0, size 16 (or explicit)
            if (copy != 16) {
                put(inst, copy);
            }
            put(addr, o);
        }
        Bytes body;
        put(body, offsets.size() * copy);
        body.push_back(0);  // delta indicator
        put(body, 0);
        put(body, inst.size());
        put(body, addr.size());
        body.insert(body.end(), inst.begin(), inst.end());
        body.insert(body.end(), addr.begin(), addr.end());
        out_.push_back(1);  // VCD_SOURCE
        put(out_, full_size_);
        put(out_, 0);
        put(out_, body.size());
        out_.insert(out_.end(), body.begin(), body.end());
    }
    [[nodiscard]] const Bytes& bytes() const { return out_; }

private:
    static void put(Bytes& b, std::uint64_t v)
    {
        Bytes tmp{static_cast<std::uint8_t>(v & 0x7F)};
        for (v >>= 7; v != 0; v >>= 7) {
            tmp.push_back(static_cast<std::uint8_t>(0x80 | (v & 0x7F)));
        }
        b.insert(b.end(), tmp.rbegin(), tmp.rend());
    }
    std::uint64_t full_size_;
    Bytes out_;
};

TEST(Decoder, ScatteredCopiesOfManyWindowsKeepThePlanBounded)
{
    // Four windows take turns in 16-byte copies every 32 bytes of a 32 MiB full: a
    // million pieces read by different windows side by side, which the plan cannot join
    // cheaply. It is coarsened (bounded), and the output must still be exact.
    test::TempDir dir;
    const std::uint64_t slots = std::uint64_t{1} << 20;
    const Bytes base = test::make_data(slots * 32, 7);
    CopyDelta delta(base.size());
    Bytes target;
    for (std::uint64_t w = 0; w < 4; ++w) {
        std::vector<std::uint64_t> offsets;
        // Window w reads the slots s with s % 4 == w; window 0 back to front.
        for (std::uint64_t i = 0; i < slots / 4; ++i) {
            const std::uint64_t slot = w == 0 ? slots - 4 - 4 * i : 4 * i + w;
            offsets.push_back(slot * 32);
            target.insert(target.end(), base.begin() + static_cast<std::ptrdiff_t>(slot * 32),
                          base.begin() + static_cast<std::ptrdiff_t>(slot * 32 + 16));
        }
        delta.window(offsets);
    }
    DecodeOptions options;
    options.spill_dir = dir.path();
    options.memory_limit = 1 << 20;
    DecodeResult r;
    EXPECT_EQ(decode_bytes(base, delta.bytes(), options, &r), target);
    EXPECT_LE(r.plan_pieces, std::uint64_t{1} << 19);
    EXPECT_GT(r.plan_pieces, 0u);
    EXPECT_LE(r.kept_aside_peak, base.size());
}

TEST(Decoder, KnownTargetSizeIsAHardLimit)
{
    test::TempDir dir;
    const Case c = shuffled_case(dir, "-S none", 1 << 20);
    DecodeOptions options;
    options.max_target_bytes = c.target.size();
    EXPECT_EQ(decode_bytes(c.base, c.delta, options), c.target);
    options.max_target_bytes = c.target.size() - 1;
    io::MemorySource base_src(c.base, "<full>");
    io::MemorySink out;
    try {
        decode(base_src, test_delta::opener(c.delta), out, options);
        ADD_FAILURE() << "a delta larger than its known size was decoded";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("nothing written"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(out.data().empty());
}

TEST(Decoder, CopiesBeyondTheKnownFullSizeAreRefusedByTheScan)
{
    const Bytes base = test::make_data(1 << 20, 4);
    CopyDelta delta((std::uint64_t{3} << 30) + 16);
    delta.window({0, 100, std::uint64_t{3} << 30});
    DecodeOptions options;
    options.source_size = base.size();
    try {
        decode_bytes(base, delta.bytes(), options);
        ADD_FAILURE() << "a copy beyond the full was accepted";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("but the full has only 1048576 bytes"), std::string::npos)
            << e.what();
    }
}

TEST(Decoder, RunsWithoutAKnownSizeStopAtTheBound)
{
    // 16 MiB RUN windows: without a known target size the output may reach
    // 4 x the full + 4 GiB (no literal data here), not more.
    const Bytes base = test::make_data(1 << 20, 5);
    Bytes delta = {0xD6, 0xC3, 0xC4, 0, 0};
    const Bytes window = {0, 14, 0x80 | 8, 0x80, 0x80, 0, 0, 1, 5, 0, 'A', 0, 0x80 | 8, 0x80, 0x80, 0};
    // indicator 0, enc length 14, target 16 MiB, delta indicator, data 1, inst 5, addr 0,
    // data "A", RUN size 0 + 16 MiB.
    const std::uint64_t windows = 300;  // 4.7 GiB
    for (std::uint64_t i = 0; i < windows; ++i) {
        delta.insert(delta.end(), window.begin(), window.end());
    }
    struct Counting final : io::ByteSink {
        void write(std::span<const std::uint8_t> d) override { bytes += d.size(); }
        void finish() override {}
        [[nodiscard]] const std::string& name() const override { return n; }
        std::uint64_t bytes = 0;
        std::string n = "<out>";
    } out;
    io::MemorySource base_src(base, "<full>");
    try {
        decode(base_src, test_delta::opener(delta), out);
        ADD_FAILURE() << "4.7 GiB of runs from a 1 MiB full without a known size were decoded";
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();
    }
    EXPECT_LE(out.bytes, unknown_target_slack + unknown_target_copy_ratio * base.size());
    EXPECT_GT(out.bytes, unknown_target_slack - (std::uint64_t{16} << 20));
}

TEST(Decoder, EmptyTargetAndEmptyFull)
{
    test::TempDir dir;
    const Bytes base = test::make_data(100000, 1);
    EXPECT_EQ(decode_bytes(base, test_delta::stock_encode(dir, base, {}, "-S none")), Bytes{});
    const Bytes target = test::make_data(5000, 2);
    EXPECT_EQ(decode_bytes({}, test_delta::stock_encode(dir, {}, target, "-S none")), target);
}

}  // namespace test_engine_decoder
}  // namespace pvediff::engine
