// SPDX-License-Identifier: GPL-2.0-or-later
// Lenient tar layout: ustar, GNU (long names, base-256 sizes, old sparse) and pax
// headers are followed by their sizes; a header whose checksum fails ends the
// interpretation (the rest is opaque payload).
#include "tar_layout.h"

#include <algorithm>
#include <string_view>

namespace pvediff::formats::tar {
namespace {

// pax headers larger than this are skipped as metadata without looking for "size=".
constexpr std::uint64_t max_pax_parse = 1 << 20;
// Sizes beyond this are corrupt and would overflow offsets.
constexpr std::uint64_t max_member_size = std::uint64_t{1} << 62;

std::uint64_t padded(std::uint64_t n)
{
    return (n + record - 1) / record * record;
}

// The "size" record of a pax extended header ("<len> <key>=<value>\n" records).
std::optional<std::uint64_t> pax_size(std::span<const std::uint8_t> data)
{
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t len = 0;
        std::size_t i = at;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && len < text.size()) {
            len = len * 10 + static_cast<std::size_t>(text[i] - '0');
            ++i;
        }
        if (i == at || len == 0 || len > text.size() - at || i >= text.size() || text[i] != ' ') {
            return std::nullopt;  // malformed or padding: stop
        }
        const std::string_view rec = text.substr(i + 1, at + len - i - 1);
        if (rec.starts_with("size=") && rec.ends_with('\n')) {
            std::uint64_t v = 0;
            const std::string_view digits = rec.substr(5, rec.size() - 6);
            if (digits.empty() || digits.size() > 19) {
                return std::nullopt;
            }
            for (const char c : digits) {
                if (c < '0' || c > '9') {
                    return std::nullopt;
                }
                v = v * 10 + static_cast<std::uint64_t>(c - '0');
            }
            return v;
        }
        at += len;
    }
    return std::nullopt;
}

}  // namespace

bool is_zero_record(std::span<const std::uint8_t> h)
{
    return std::all_of(h.begin(), h.end(), [](std::uint8_t b) { return b == 0; });
}

bool checksum_ok(std::span<const std::uint8_t> h)
{
    if (h.size() < record) {
        return false;
    }
    const auto stored = number(h.subspan(148, 8));
    if (!stored) {
        return false;
    }
    std::uint64_t usum = 0;
    std::int64_t ssum = 0;
    for (std::size_t i = 0; i < record; ++i) {
        const std::uint8_t b = (i >= 148 && i < 156) ? ' ' : h[i];
        usum += b;
        ssum += static_cast<std::int8_t>(b);
    }
    return *stored == usum || static_cast<std::int64_t>(*stored) == ssum;
}

std::optional<std::uint64_t> number(std::span<const std::uint8_t> field)
{
    if (field.empty()) {
        return std::nullopt;
    }
    if ((field[0] & 0x80) != 0) {
        if (field[0] != 0x80) {
            return std::nullopt;  // negative or more than 64 bits follow
        }
        std::uint64_t v = 0;
        for (std::size_t i = 1; i < field.size(); ++i) {
            if (v >> 56 != 0) {
                return std::nullopt;
            }
            v = (v << 8) | field[i];
        }
        return v;
    }
    std::size_t i = 0;
    while (i < field.size() && field[i] == ' ') {
        ++i;
    }
    std::uint64_t v = 0;
    for (; i < field.size() && field[i] != 0 && field[i] != ' '; ++i) {
        if (field[i] < '0' || field[i] > '7' || v >> 60 != 0) {
            return std::nullopt;
        }
        v = v * 8 + (field[i] - '0');
    }
    return v;
}

void LayoutParser::feed(std::span<const std::uint8_t> data, std::vector<Region>& out)
{
    while (!data.empty()) {
        std::size_t n = 0;
        if (state_ == State::header || state_ == State::sparse_ext || state_ == State::pax) {
            n = collector_.take(data);
        } else {
            n = static_cast<std::size_t>(run_.advance(data.size(), out));
        }
        pos_ += n;
        data = data.subspan(n);
        step(out);
    }
}

void LayoutParser::finish(std::vector<Region>& out)
{
    switch (state_) {
        case State::header:
        case State::sparse_ext:
        case State::pax:
            clean_end_ = state_ == State::header && collector_.size() == 0 && after_zero_;
            if (collector_.size() > 0) {
                out.push_back(Region{collector_.offset(), collector_.size(), 0, RegionKind::payload, false});
            }
            collector_.stop();
            break;
        case State::data:
        case State::padding:
        case State::meta:
        case State::opaque:
            run_.flush(out, run_.kind(), run_.key());
            break;
    }
}

void LayoutParser::start_header()
{
    state_ = State::header;
    collector_.start(pos_, record);
}

void LayoutParser::go_opaque(std::vector<Region>& out)
{
    state_ = State::opaque;
    after_zero_ = false;
    run_.start(collector_.offset(), detail::open_end, RegionKind::payload, 0, collector_.size(), out);
    collector_.stop();
}

void LayoutParser::start_member_data(std::vector<Region>& out)
{
    if (data_size_ == 0) {
        start_header();
        return;
    }
    state_ = State::data;
    run_.start(pos_, data_size_, RegionKind::payload, members_, 0, out);
}

void LayoutParser::step(std::vector<Region>& out)
{
    switch (state_) {
        case State::header:
            if (collector_.complete()) {
                on_header(out);
            }
            break;
        case State::sparse_ext:
            if (collector_.complete()) {
                out.push_back(Region{collector_.offset(), record, 0, RegionKind::metadata, false});
                const bool more = collector_.bytes()[504] != 0;
                collector_.stop();
                if (more) {
                    collector_.start(pos_, record);
                } else {
                    start_member_data(out);
                }
            }
            break;
        case State::pax:
            if (collector_.complete()) {
                on_pax(out);
            }
            break;
        case State::data:
            if (!run_.active()) {
                if (const std::uint64_t pad = padded(data_size_) - data_size_; pad != 0) {
                    state_ = State::padding;
                    run_.start(pos_, pad, RegionKind::metadata, 0, 0, out);
                } else {
                    start_header();
                }
            }
            break;
        case State::padding:
        case State::meta:
            if (!run_.active()) {
                start_header();
            }
            break;
        case State::opaque:
            break;
    }
}

void LayoutParser::on_header(std::vector<Region>& out)
{
    const auto h = collector_.bytes();
    if (is_zero_record(h)) {
        out.push_back(Region{collector_.offset(), record, 0, RegionKind::metadata, false});
        after_zero_ = true;
        start_header();
        return;
    }
    const auto size = number(h.subspan(124, 12));
    if (!checksum_ok(h) || !size || *size > max_member_size) {
        go_opaque(out);
        return;
    }
    after_zero_ = false;
    out.push_back(Region{collector_.offset(), record, 0, RegionKind::metadata, false});
    const char type = static_cast<char>(h[156]);
    const bool sparse_extended = type == 'S' && h[482] != 0;
    collector_.stop();
    switch (type) {
        case 'x':
            if (padded(*size) <= max_pax_parse) {
                if (*size == 0) {
                    start_header();
                } else {
                    state_ = State::pax;
                    collector_.start(pos_, static_cast<std::size_t>(padded(*size)));
                    data_size_ = *size;
                }
                return;
            }
            [[fallthrough]];
        case 'g':
        case 'L':
        case 'K':
            // Metadata about the next member: names, attributes. Not member data.
            if (*size == 0) {
                start_header();
            } else {
                state_ = State::meta;
                run_.start(pos_, padded(*size), RegionKind::metadata, 0, 0, out);
            }
            return;
        default:
            break;
    }
    ++members_;
    data_size_ = *size;
    if (pax_size_) {
        data_size_ = *pax_size_;
        pax_size_.reset();
    }
    // Links, devices, directories and fifos carry no data whatever their size says.
    if (type == '2' || type == '3' || type == '4' || type == '5' || type == '6') {
        data_size_ = 0;
    }
    if (sparse_extended) {
        state_ = State::sparse_ext;
        collector_.start(pos_, record);
        return;
    }
    start_member_data(out);
}

void LayoutParser::on_pax(std::vector<Region>& out)
{
    const auto data = collector_.bytes().first(static_cast<std::size_t>(data_size_));
    if (const auto size = pax_size(data); size && *size <= max_member_size) {
        pax_size_ = size;
    }
    out.push_back(Region{collector_.offset(), collector_.size(), 0, RegionKind::metadata, false});
    collector_.stop();
    start_header();
}

}  // namespace pvediff::formats::tar
