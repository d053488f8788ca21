// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Helpers for the store tests: a time zone set for one test, empty files in a dump dir.
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace pvediff::test {

// Sets TZ for the lifetime of the object and restores the previous value after.
class ScopedTz {
public:
    explicit ScopedTz(const char* tz)
    {
        if (const char* old = std::getenv("TZ")) {
            old_ = old;
        }
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~ScopedTz()
    {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    ScopedTz(const ScopedTz&) = delete;
    ScopedTz& operator=(const ScopedTz&) = delete;

private:
    std::optional<std::string> old_;
};

inline void touch(const std::filesystem::path& path, const std::string& content = {})
{
    std::ofstream out(path, std::ios::binary);
    out << content;
}

}  // namespace pvediff::test
