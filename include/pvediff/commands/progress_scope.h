// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Begins a progress display for one operation and ends it on every exit path, so
// an error never leaves a half-drawn live line above its message.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "pvediff/commands/progress.h"

namespace pvediff::commands {

class ProgressScope {
public:
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

}  // namespace pvediff::commands
