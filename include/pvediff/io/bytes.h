// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Integers in binary formats: loads and stores of a given byte order, and a bounded
// reader for parsing a buffer of untrusted bytes.
//
// - load_be16/32/64, load_le16/32/64: read from `p`, which must hold enough bytes
//   (the caller has checked the length; prefer ByteReader where it has not).
// - store_be16/32/64, store_le16/32/64: write into `p`; append_be*/append_le* push
//   onto a growing vector.
// - ByteReader: reads a span front to back (or at a given position); a read past the
//   end throws io::Error naming the file and the offset of the read, never touches
//   memory outside the span. Offsets in messages are the span's base offset in the
//   file plus the position, so a reader over a piece of a file reports file offsets.
//
// Written byte by byte: compilers turn these loops into one load or store with a
// byte swap where needed, with no alignment or aliasing assumptions.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pvediff::io {

namespace detail {
template <typename T>
constexpr T load_be(const std::uint8_t* p)
{
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        v = static_cast<T>((v << 8) | p[i]);
    }
    return v;
}
template <typename T>
constexpr T load_le(const std::uint8_t* p)
{
    T v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) {
        v = static_cast<T>((v << 8) | p[i]);
    }
    return v;
}
template <typename T>
constexpr void store_be(std::uint8_t* p, T v)
{
    for (std::size_t i = sizeof(T); i-- > 0;) {
        p[i] = static_cast<std::uint8_t>(v);
        v = static_cast<T>(v >> 8);
    }
}
template <typename T>
constexpr void store_le(std::uint8_t* p, T v)
{
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        p[i] = static_cast<std::uint8_t>(v);
        v = static_cast<T>(v >> 8);
    }
}
}  // namespace detail

constexpr std::uint16_t load_be16(const std::uint8_t* p)
{
    return detail::load_be<std::uint16_t>(p);
}
constexpr std::uint32_t load_be32(const std::uint8_t* p)
{
    return detail::load_be<std::uint32_t>(p);
}
constexpr std::uint64_t load_be64(const std::uint8_t* p)
{
    return detail::load_be<std::uint64_t>(p);
}
constexpr std::uint16_t load_le16(const std::uint8_t* p)
{
    return detail::load_le<std::uint16_t>(p);
}
constexpr std::uint32_t load_le32(const std::uint8_t* p)
{
    return detail::load_le<std::uint32_t>(p);
}
constexpr std::uint64_t load_le64(const std::uint8_t* p)
{
    return detail::load_le<std::uint64_t>(p);
}

constexpr void store_be16(std::uint8_t* p, std::uint16_t v)
{
    detail::store_be(p, v);
}
constexpr void store_be32(std::uint8_t* p, std::uint32_t v)
{
    detail::store_be(p, v);
}
constexpr void store_be64(std::uint8_t* p, std::uint64_t v)
{
    detail::store_be(p, v);
}
constexpr void store_le16(std::uint8_t* p, std::uint16_t v)
{
    detail::store_le(p, v);
}
constexpr void store_le32(std::uint8_t* p, std::uint32_t v)
{
    detail::store_le(p, v);
}
constexpr void store_le64(std::uint8_t* p, std::uint64_t v)
{
    detail::store_le(p, v);
}

// Appends the value's bytes to `out`.
void append_be16(std::vector<std::uint8_t>& out, std::uint16_t v);
void append_be32(std::vector<std::uint8_t>& out, std::uint32_t v);
void append_be64(std::vector<std::uint8_t>& out, std::uint64_t v);
void append_le16(std::vector<std::uint8_t>& out, std::uint16_t v);
void append_le32(std::vector<std::uint8_t>& out, std::uint32_t v);
void append_le64(std::vector<std::uint8_t>& out, std::uint64_t v);

// Reads integers and byte runs from a span, checking every length first. The span
// must outlive the reader; `name` is the file the bytes come from (for messages).
class ByteReader {
public:
    ByteReader(std::span<const std::uint8_t> bytes, std::string name, std::uint64_t base_offset = 0);

    std::uint8_t u8()
    {
        return take(+[](const std::uint8_t* p) { return *p; });
    }
    std::uint16_t be16() { return take(load_be16); }
    std::uint32_t be32() { return take(load_be32); }
    std::uint64_t be64() { return take(load_be64); }
    std::uint16_t le16() { return take(load_le16); }
    std::uint32_t le32() { return take(load_le32); }
    std::uint64_t le64() { return take(load_le64); }
    // The next n bytes (a view into the span).
    std::span<const std::uint8_t> bytes(std::size_t n);
    void skip(std::size_t n);
    // Moves to a position in the span (0..size); reads continue from there.
    void seek(std::size_t position);

    [[nodiscard]] std::size_t position() const { return pos_; }
    [[nodiscard]] std::size_t remaining() const { return bytes_.size() - pos_; }
    // The file offset of the next read.
    [[nodiscard]] std::uint64_t offset() const { return base_ + pos_; }
    [[nodiscard]] const std::string& name() const { return name_; }

    // Throws a parse error "'<name>': offset <offset>: <message>" at the given
    // position of the span (default: the next read's).
    [[noreturn]] void fail(const std::string& message) const;
    [[noreturn]] void fail_at(std::size_t position, const std::string& message) const;

private:
    // Throws unless n more bytes are there.
    void need(std::size_t n) const;
    template <typename T>
    T take(T (*load)(const std::uint8_t*))
    {
        need(sizeof(T));
        const T v = load(bytes_.data() + pos_);
        pos_ += sizeof(T);
        return v;
    }

    std::span<const std::uint8_t> bytes_;
    std::string name_;
    std::uint64_t base_ = 0;
    std::size_t pos_ = 0;
};

}  // namespace pvediff::io
