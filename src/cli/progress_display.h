// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// How progress looks (commands/progress.h reports only bytes):
// - on a terminal: one live line on stderr, redrawn at most 5 times a second:
//     restore vzdump-...: 1.2 GiB of 2.0 GiB (60%), 95.0 MiB/s, ETA 9 s
// - elsewhere (vzdump's task log, a timer's journal): a plain line every 10 % or
//   30 s, in the spirit of vzdump's own "INFO: 40% (...)" lines:
//     pvediff: restore vzdump-...: 40% (819.2 MiB of 2.0 GiB) in 12 s, 68.3 MiB/s
//   but never within `plain_gap` of the step's start or of the line before: as
//   vzdump logs a status line only when more than 2 s have passed, a step that ends
//   sooner leaves no lines (a small guest's backup-end wrote ~40 in one second).
// The command's summary line follows as before.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "pvediff/commands/progress.h"
#include "pvediff/commands/report.h"

namespace pvediff::cli {

class ProgressDisplay final : public commands::Progress {
public:
    using Clock = std::chrono::steady_clock;
    // `live`: a terminal (the line is drawn on `out`); else plain lines through
    // `plain` (the logger, so the journal gets them with their priority).
    static constexpr std::chrono::milliseconds default_plain_gap{2000};
    ProgressDisplay(bool live, std::FILE* out, commands::Report plain,
                    std::chrono::milliseconds plain_gap = default_plain_gap)
        : live_(live), out_(out), plain_(std::move(plain)), plain_gap_(plain_gap)
    {
    }
    void begin(const std::string& what, std::optional<std::uint64_t> total) override;
    void update(std::uint64_t done) override;
    void end() override;

private:
    void draw(std::uint64_t done, Clock::time_point now);
    [[nodiscard]] std::string line(std::uint64_t done, double seconds) const;

    bool live_;
    std::FILE* out_;
    commands::Report plain_;
    std::chrono::milliseconds plain_gap_;
    std::string what_;
    std::optional<std::uint64_t> total_;
    Clock::time_point start_{};
    Clock::time_point last_draw_{};
    int last_decile_ = 0;
    std::uint64_t last_done_ = 0;
    bool drawn_ = false;
    bool active_ = false;
};

}  // namespace pvediff::cli
