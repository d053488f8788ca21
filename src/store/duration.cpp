// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/duration.h"

#include <cmath>

namespace pvediff::store {

std::optional<std::chrono::seconds> parse_duration(std::string_view text, std::chrono::seconds bare_unit)
{
    if (text.empty()) {
        return std::nullopt;
    }
    std::int64_t unit = bare_unit.count();
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = std::int64_t{7} * 86400;
            break;
        default:
            if (text.back() < '0' || text.back() > '9') {
                return std::nullopt;  // an unknown unit
            }
            break;
    }
    if (text.back() < '0' || text.back() > '9') {
        text.remove_suffix(1);
    }
    // Digits with at most one decimal point and at least one digit; no sign, no
    // exponent, no spaces ("1e3", "+2", " 7" are typos, not durations).
    if (text.empty() || text.size() > 20) {
        return std::nullopt;
    }
    bool digit = false;
    bool point = false;
    double whole = 0;
    double frac_scale = 1;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            digit = true;
            if (point) {
                frac_scale /= 10;
                whole += (c - '0') * frac_scale;
            } else {
                whole = whole * 10 + (c - '0');
            }
        } else if (c == '.' && !point) {
            point = true;
        } else {
            return std::nullopt;
        }
    }
    if (!digit) {
        return std::nullopt;
    }
    const double seconds = std::round(whole * static_cast<double>(unit));
    if (seconds > 100.0 * 366 * 86400) {
        return std::nullopt;
    }
    return std::chrono::seconds(static_cast<std::int64_t>(seconds));
}

std::string format_duration(std::chrono::seconds d)
{
    const std::int64_t s = d.count();
    if (s == 0) {
        return "0";
    }
    struct Unit {
        std::int64_t seconds;
        const char* suffix;
    };
    for (const Unit u : {Unit{86400, "d"}, Unit{3600, "h"}, Unit{60, "m"}}) {
        if (s % u.seconds == 0) {
            return std::to_string(s / u.seconds) + u.suffix;
        }
    }
    return std::to_string(s) + "s";
}

}  // namespace pvediff::store
