// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Begins a progress display for one operation and ends it on every exit path, so a
// command that throws never leaves a live terminal line behind.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "pvediff/commands/progress.h"

namespace pvediff::commands {

class ProgressScope {
public:
    // `progress` may be null (nothing shown).
    ProgressScope(Progress* progress, const std::string& what, std::optional<std::uint64_t> total)
        : progress_(progress)
    {
        if (progress_) {
            progress_->begin(what, total);
        }
    }
    ~ProgressScope() { finish(); }
    // Ends the display before the summary line (the destructor covers errors).
    void finish()
    {
        if (progress_) {
            progress_->end();
            progress_ = nullptr;
        }
    }
    ProgressScope(const ProgressScope&) = delete;
    ProgressScope& operator=(const ProgressScope&) = delete;
    // A callback for io::CountingSink (empty when nothing is shown).
    [[nodiscard]] std::function<void(std::uint64_t)> updater() const
    {
        if (!progress_) {
            return {};
        }
        return [p = progress_](std::uint64_t done) { p->update(done); };
    }

private:
    Progress* progress_;
};

// A callback for a later phase of the operation a ProgressScope shows (the scope's
// end ends it): its first call ends the display of the earlier phase and begins one
// for `what`, of `total` bytes; every call shows `done`. Empty when nothing is shown.
inline std::function<void(std::uint64_t done, std::uint64_t total)> phase_updater(Progress* progress,
                                                                                  std::string what)
{
    if (progress == nullptr) {
        return {};
    }
    return
        [progress, what = std::move(what), begun = false](std::uint64_t done, std::uint64_t total) mutable {
            if (!begun) {
                progress->end();
                progress->begin(what, total);
                begun = true;
            }
            progress->update(done);
        };
}

}  // namespace pvediff::commands
