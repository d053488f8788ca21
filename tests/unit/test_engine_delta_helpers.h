// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Helpers for the xdelta3 engine tests: running stock xdelta3, decoding in memory.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pvediff/engine/delta.h"
#include "pvediff/io/byte_stream.h"
#include "test_util.h"

namespace pvediff::engine::test_delta {

// Stock `xdelta3 -e <args> -s base target` into a delta; returns its bytes.
inline std::vector<std::uint8_t> stock_encode(const test::TempDir& dir, const std::vector<std::uint8_t>& base,
                                              const std::vector<std::uint8_t>& target,
                                              const std::string& args)
{
    test::write_file(dir / "stock-base", base);
    test::write_file(dir / "stock-target", target);
    const std::string cmd = "xdelta3 -e -f " + args + " -s " +
                            test::shell_quote((dir / "stock-base").string()) + " " +
                            test::shell_quote((dir / "stock-target").string()) + " " +
                            test::shell_quote((dir / "stock-delta").string());
    EXPECT_EQ(test::run(cmd), 0) << cmd;
    return test::read_file(dir / "stock-delta");
}

// Stock `xdelta3 -d -s base delta`; returns the rebuilt target.
inline std::vector<std::uint8_t> stock_decode(const test::TempDir& dir, const std::vector<std::uint8_t>& base,
                                              const std::vector<std::uint8_t>& delta)
{
    test::write_file(dir / "stock-base", base);
    test::write_file(dir / "stock-delta", delta);
    const std::string cmd = "xdelta3 -d -f -s " + test::shell_quote((dir / "stock-base").string()) + " " +
                            test::shell_quote((dir / "stock-delta").string()) + " " +
                            test::shell_quote((dir / "stock-out").string());
    EXPECT_EQ(test::run(cmd), 0) << cmd;
    return test::read_file(dir / "stock-out");
}

inline DeltaOpener opener(const std::vector<std::uint8_t>& delta)
{
    return [&delta] { return std::make_unique<io::MemorySource>(delta, "<delta>"); };
}

// engine::decode in memory.
inline std::vector<std::uint8_t> decode_bytes(const std::vector<std::uint8_t>& base,
                                              const std::vector<std::uint8_t>& delta,
                                              const DecodeOptions& options = {},
                                              DecodeResult* result = nullptr)
{
    io::MemorySource base_src(base, "<full>");
    io::MemorySink out;
    const DecodeResult r = decode(base_src, opener(delta), out, options);
    if (result != nullptr) {
        *result = r;
    }
    return out.data();
}

// Blocks of `base` in a shuffled order, with a few edits: every window of a delta
// against it reads the full out of order.
inline std::vector<std::uint8_t> shuffled(const std::vector<std::uint8_t>& base, std::size_t block,
                                          std::uint32_t seed)
{
    std::vector<std::size_t> order(base.size() / block);
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::uint32_t x = seed;
    for (std::size_t i = order.size(); i > 1; --i) {
        x = x * 1664525u + 1013904223u;
        std::swap(order[i - 1], order[x % i]);
    }
    std::vector<std::uint8_t> out;
    for (std::size_t i : order) {
        out.insert(out.end(), base.begin() + static_cast<std::ptrdiff_t>(i * block),
                   base.begin() + static_cast<std::ptrdiff_t>((i + 1) * block));
        if (i % 7 == 0) {
            out.push_back(static_cast<std::uint8_t>(i));  // an edit
        }
    }
    return out;
}

}  // namespace pvediff::engine::test_delta
