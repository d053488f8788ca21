// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/bytes.h"

#include <array>

#include "pvediff/io/error.h"

namespace pvediff::io {

namespace {
template <typename T, void (*Store)(std::uint8_t*, T)>
void append(std::vector<std::uint8_t>& out, T v)
{
    std::array<std::uint8_t, sizeof(T)> b{};
    Store(b.data(), v);
    out.insert(out.end(), b.begin(), b.end());
}
}  // namespace

void append_be16(std::vector<std::uint8_t>& out, std::uint16_t v)
{
    append<std::uint16_t, store_be16>(out, v);
}
void append_be32(std::vector<std::uint8_t>& out, std::uint32_t v)
{
    append<std::uint32_t, store_be32>(out, v);
}
void append_be64(std::vector<std::uint8_t>& out, std::uint64_t v)
{
    append<std::uint64_t, store_be64>(out, v);
}
void append_le16(std::vector<std::uint8_t>& out, std::uint16_t v)
{
    append<std::uint16_t, store_le16>(out, v);
}
void append_le32(std::vector<std::uint8_t>& out, std::uint32_t v)
{
    append<std::uint32_t, store_le32>(out, v);
}
void append_le64(std::vector<std::uint8_t>& out, std::uint64_t v)
{
    append<std::uint64_t, store_le64>(out, v);
}

ByteReader::ByteReader(std::span<const std::uint8_t> bytes, std::string name, std::uint64_t base_offset)
    : bytes_(bytes), name_(std::move(name)), base_(base_offset)
{
}

void ByteReader::need(std::size_t n) const
{
    if (n > remaining()) {
        fail(fmt::format("truncated: {} bytes wanted, {} left", n, remaining()));
    }
}

std::span<const std::uint8_t> ByteReader::bytes(std::size_t n)
{
    need(n);
    const auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
}

void ByteReader::skip(std::size_t n)
{
    need(n);
    pos_ += n;
}

void ByteReader::seek(std::size_t position)
{
    if (position > bytes_.size()) {
        fail_at(bytes_.size(), fmt::format("truncated: position {} is past the end", base_ + position));
    }
    pos_ = position;
}

void ByteReader::fail(const std::string& message) const
{
    fail_at(pos_, message);
}

void ByteReader::fail_at(std::size_t position, const std::string& message) const
{
    throw_parse_error(name_, base_ + position, message);
}

}  // namespace pvediff::io
