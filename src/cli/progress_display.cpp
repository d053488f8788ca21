// SPDX-License-Identifier: GPL-2.0-or-later
#include "progress_display.h"

#include <algorithm>

#include "pvediff/commands/report.h"

namespace pvediff::cli {

namespace {
constexpr auto live_interval = std::chrono::milliseconds(200);
constexpr auto plain_interval = std::chrono::seconds(30);
}  // namespace

void ProgressDisplay::begin(const std::string& what, std::optional<std::uint64_t> total)
{
    what_ = what;
    total_ = total && *total > 0 ? total : std::nullopt;
    start_ = last_draw_ = Clock::now();
    last_decile_ = 0;
    last_done_ = 0;
    drawn_ = false;
    active_ = true;
}

std::string ProgressDisplay::line(std::uint64_t done, double seconds) const
{
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    std::string s = what_ + ": ";
    char pct[16] = "";
    if (total_) {
        std::snprintf(pct, sizeof pct, "%.0f%%",
                      100.0 * static_cast<double>(done) / static_cast<double>(*total_));
    }
    if (live_) {
        s += commands::human_bytes(done) +
             (total_ ? " of " + commands::human_bytes(*total_) + " (" + pct + ")" : "");
    } else {
        s += total_ ? std::string(pct) + " (" + commands::human_bytes(done) + " of " +
                          commands::human_bytes(*total_) + ")"
                    : commands::human_bytes(done);
        s += " in " + commands::human_seconds(seconds);
    }
    s += ", " + commands::human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
    if (live_ && total_ && rate > 0 && done < *total_) {
        s += ", ETA " + commands::human_seconds(static_cast<double>(*total_ - done) / rate);
    }
    return s;
}

void ProgressDisplay::draw(std::uint64_t done, Clock::time_point now)
{
    const double seconds = std::chrono::duration<double>(now - start_).count();
    if (live_) {
        // \r and erase to the end of the line: one line, redrawn in place.
        std::fprintf(out_, "\r%s\033[K", line(done, seconds).c_str());
        std::fflush(out_);
    } else {
        plain_(line(done, seconds));
    }
    last_draw_ = now;
    drawn_ = true;
}

void ProgressDisplay::update(std::uint64_t done)
{
    if (!active_) {
        return;
    }
    last_done_ = done;
    const auto now = Clock::now();
    if (live_) {
        if (now - last_draw_ >= live_interval) {
            draw(done, now);
        }
        return;
    }
    if (now - last_draw_ < plain_gap_) {
        return;  // the decile is drawn later, with the bytes done by then
    }
    const int decile = total_ ? static_cast<int>(10 * done / *total_) : 0;
    if ((decile > last_decile_ && decile < 10) || now - last_draw_ >= plain_interval) {
        last_decile_ = std::max(decile, last_decile_);
        draw(done, now);
    }
}

void ProgressDisplay::end()
{
    if (!active_) {
        return;
    }
    active_ = false;
    if (live_ && drawn_) {
        // Leave the last state on screen; the summary line starts on a new line.
        draw(last_done_, Clock::now());
        std::fputc('\n', out_);
        std::fflush(out_);
    }
}

}  // namespace pvediff::cli
