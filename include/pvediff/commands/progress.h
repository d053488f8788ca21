// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Progress of a long operation: commands report bytes done (of a total, when they
// know it); the cli decides how that looks (a live line on a terminal, a plain line
// every 10 % or 30 s in a log, nothing).
#include <cstdint>
#include <optional>
#include <string>

namespace pvediff::commands {

class Progress {
public:
    virtual ~Progress() = default;
    // A new operation, e.g. "restore vzdump-qemu-101-...". `total`: bytes expected.
    virtual void begin(const std::string& what, std::optional<std::uint64_t> total) = 0;
    // Bytes done so far (called often: the implementation rate-limits itself).
    virtual void update(std::uint64_t done) = 0;
    // The operation ended (successfully or not); the summary line follows separately.
    virtual void end() = 0;
};

// Reports nothing.
class NoProgress final : public Progress {
public:
    void begin(const std::string&, std::optional<std::uint64_t>) override {}
    void update(std::uint64_t) override {}
    void end() override {}
};

}  // namespace pvediff::commands
