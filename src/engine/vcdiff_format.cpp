// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/vcdiff_format.h"

namespace pvediff::engine::vcdiff {

namespace {
std::array<CodeEntry, 256> build_default_code_table()
{
    // RFC 3284, section 5.6: entry 0 RUN; 1..18 ADD sizes 0,1..17; then for each of the
    // 9 modes a COPY with size 0 and sizes 4..18; then ADD+COPY and COPY+ADD pairs.
    std::array<CodeEntry, 256> t{};
    std::size_t i = 0;
    t[i++] = {Inst::run, 0, 0, Inst::noop, 0, 0};
    for (std::uint8_t size = 0; size <= 17; ++size) {
        t[i++] = {Inst::add, size, 0, Inst::noop, 0, 0};
    }
    for (std::uint8_t mode = 0; mode < 9; ++mode) {
        t[i++] = {Inst::copy, 0, mode, Inst::noop, 0, 0};
        for (std::uint8_t size = 4; size <= 18; ++size) {
            t[i++] = {Inst::copy, size, mode, Inst::noop, 0, 0};
        }
    }
    for (std::uint8_t mode = 0; mode < 6; ++mode) {
        for (std::uint8_t add = 1; add <= 4; ++add) {
            for (std::uint8_t copy = 4; copy <= 6; ++copy) {
                t[i++] = {Inst::add, add, 0, Inst::copy, copy, mode};
            }
        }
    }
    for (std::uint8_t mode = 6; mode < 9; ++mode) {
        for (std::uint8_t add = 1; add <= 4; ++add) {
            t[i++] = {Inst::add, add, 0, Inst::copy, 4, mode};
        }
    }
    for (std::uint8_t mode = 0; mode < 9; ++mode) {
        t[i++] = {Inst::copy, 4, mode, Inst::add, 1, 0};
    }
    return t;
}
}  // namespace

const std::array<CodeEntry, 256>& default_code_table()
{
    static const std::array<CodeEntry, 256> table = build_default_code_table();
    return table;
}

void put_varint(std::vector<std::uint8_t>& out, std::uint64_t value)
{
    std::uint8_t buf[10];
    std::size_t n = 0;
    buf[n++] = static_cast<std::uint8_t>(value & 0x7F);
    value >>= 7;
    while (value != 0) {
        buf[n++] = static_cast<std::uint8_t>(0x80 | (value & 0x7F));
        value >>= 7;
    }
    while (n > 0) {
        out.push_back(buf[--n]);
    }
}

std::size_t varint_size(std::uint64_t value)
{
    std::size_t n = 1;
    while (value >>= 7) {
        ++n;
    }
    return n;
}

std::optional<std::uint64_t> get_varint(std::span<const std::uint8_t> data, std::size_t& pos)
{
    std::uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
        if (pos >= data.size()) {
            return std::nullopt;
        }
        const std::uint8_t b = data[pos++];
        if (value > (UINT64_MAX >> 7)) {
            return std::nullopt;
        }
        value = (value << 7) | (b & 0x7F);
        if ((b & 0x80) == 0) {
            return value;
        }
    }
    return std::nullopt;
}

void AddressCache::reset()
{
    near_.fill(0);
    same_.fill(0);
    next_slot_ = 0;
}

std::optional<std::uint64_t> AddressCache::decode(std::uint8_t mode, std::uint64_t here,
                                                  std::span<const std::uint8_t> addr_section,
                                                  std::size_t& pos)
{
    std::uint64_t addr = 0;
    if (mode < 2 + near_cache_size) {
        const auto v = get_varint(addr_section, pos);
        if (!v) {
            return std::nullopt;
        }
        if (mode == mode_self) {
            addr = *v;
        } else if (mode == mode_here) {
            if (*v > here) {
                return std::nullopt;
            }
            addr = here - *v;
        } else {
            addr = near_[mode - 2] + *v;
        }
    } else if (mode < 2 + near_cache_size + same_cache_size) {
        if (pos >= addr_section.size()) {
            return std::nullopt;
        }
        const std::size_t m = mode - (2 + near_cache_size);
        addr = same_[m * 256 + addr_section[pos++]];
    } else {
        return std::nullopt;
    }
    update(addr);
    return addr;
}

void AddressCache::update(std::uint64_t addr)
{
    near_[static_cast<std::size_t>(next_slot_)] = addr;
    next_slot_ = (next_slot_ + 1) % near_cache_size;
    same_[addr % same_.size()] = addr;
}

}  // namespace pvediff::engine::vcdiff
