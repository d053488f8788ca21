// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/report.h"

#include <cstdint>
#include <cstdio>

namespace pvediff::commands {

std::string human_bytes(std::uint64_t bytes)
{
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    std::size_t u = 0;
    while (v >= 1024.0 && u + 1 < std::size(units)) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    if (u == 0) {
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    } else {
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    }
    return buf;
}

std::string human_seconds(double seconds)
{
    char buf[32];
    if (seconds < 60) {
        std::snprintf(buf, sizeof buf, "%.1f s", seconds);
    } else {
        const auto s = static_cast<long long>(seconds);
        std::snprintf(buf, sizeof buf, "%lld min %02lld s", s / 60, s % 60);
    }
    return buf;
}

}  // namespace pvediff::commands
