// SPDX-License-Identifier: GPL-2.0-or-later
// Strict VMA header parsing: every read is bounds-checked against the buffer.
#include <openssl/evp.h>

#include <cstring>
#include <ctime>
#include <memory>

#include "pvediff/formats/vma.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/library_handles.h"

namespace pvediff::formats {
namespace {

// Big-endian reads that refuse to leave the buffer.
class Reader {
public:
    Reader(std::span<const std::uint8_t> buf, const std::string& name) : buf_(buf), name_(name) {}

    [[nodiscard]] std::uint32_t be32(std::size_t offset) const
    {
        return io::load_be32(bytes(offset, 4).data());
    }
    [[nodiscard]] std::uint64_t be64(std::size_t offset) const
    {
        return io::load_be64(bytes(offset, 8).data());
    }
    [[nodiscard]] std::span<const std::uint8_t> bytes(std::size_t offset, std::size_t n) const
    {
        need(offset, n);
        return buf_.subspan(offset, n);
    }
    [[noreturn]] void fail(std::uint64_t offset, const std::string& message) const
    {
        io::throw_parse_error(name_, offset, message);
    }

private:
    void need(std::size_t offset, std::size_t n) const
    {
        if (offset > buf_.size() || n > buf_.size() - offset) {
            fail(offset, "vma header: field beyond the end of the header");
        }
    }
    std::span<const std::uint8_t> buf_;
    const std::string& name_;
};

// A blob: u16le length then bytes, at `ptr` relative to the blob buffer.
std::span<const std::uint8_t> blob(const Reader& r, std::uint32_t buffer_offset, std::uint32_t buffer_size,
                                   std::uint32_t ptr, const char* what)
{
    const std::uint64_t at = std::uint64_t{buffer_offset} + ptr;
    if (std::uint64_t{ptr} + 2 > buffer_size) {
        r.fail(at, std::string("vma header: ") + what + " pointer outside the blob buffer");
    }
    const std::uint32_t len = io::load_le16(r.bytes(static_cast<std::size_t>(at), 2).data());
    if (std::uint64_t{ptr} + 2 + len > buffer_size) {
        r.fail(at, std::string("vma header: ") + what + " blob runs past the blob buffer");
    }
    return r.bytes(static_cast<std::size_t>(at + 2), len);
}

std::string blob_string(const Reader& r, std::uint32_t buffer_offset, std::uint32_t buffer_size,
                        std::uint32_t ptr, const char* what)
{
    const auto b = blob(r, buffer_offset, buffer_size, ptr, what);
    // Names carry their trailing NUL, and none before it.
    if (b.empty() || b.back() != 0 || std::memchr(b.data(), 0, b.size() - 1) != nullptr) {
        r.fail(std::uint64_t{buffer_offset} + ptr,
               std::string("vma header: ") + what + " is not a NUL-terminated string");
    }
    return {reinterpret_cast<const char*>(b.data()), b.size() - 1};
}

Md5 md5_with_hole(std::span<const std::uint8_t> data, std::size_t hole)
{
    static constexpr std::array<std::uint8_t, 16> zeros{};
    io::EvpMdCtx ctx(EVP_MD_CTX_new());
    Md5 out{};
    unsigned len = 0;
    const std::size_t hole_end = std::min(data.size(), hole + 16);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), std::min(hole, data.size())) != 1 ||
        (hole < data.size() && EVP_DigestUpdate(ctx.get(), zeros.data(), hole_end - hole) != 1) ||
        EVP_DigestUpdate(ctx.get(), data.data() + hole_end, data.size() - hole_end) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
        throw io::Error("md5: openssl digest failed");
    }
    return out;
}

}  // namespace

Md5 vma_header_md5(std::span<const std::uint8_t> header)
{
    return md5_with_hole(header, 32);
}

Md5 vma_extent_md5(std::span<const std::uint8_t> extent_header)
{
    return md5_with_hole(extent_header, 24);
}

std::uint32_t vma_header_size(std::span<const std::uint8_t> prefix, const std::string& name)
{
    const Reader r(prefix, name);
    if (std::memcmp(r.bytes(0, 4).data(), vma::header_magic.data(), 4) != 0) {
        r.fail(0, "vma header: bad magic");
    }
    if (const auto version = r.be32(4); version != 1) {
        r.fail(4, fmt::format("vma header: unsupported version {}", version));
    }
    const std::uint32_t header_size = r.be32(56);
    if (header_size < vma::blob_buffer_start || header_size > vma::max_header_size) {
        r.fail(56, fmt::format("vma header: implausible header size {}", header_size));
    }
    return header_size;
}

VmaHeader parse_vma_header(std::span<const std::uint8_t> header, const std::string& name)
{
    const Reader r(header, name);
    VmaHeader h;
    h.header_size = vma_header_size(header, name);
    h.version = r.be32(4);
    if (header.size() != h.header_size) {
        r.fail(56,
               fmt::format("vma header: header size {} but {} bytes given", h.header_size, header.size()));
    }
    std::memcpy(h.uuid.data(), r.bytes(8, 16).data(), 16);
    h.ctime = static_cast<std::int64_t>(r.be64(24));
    std::memcpy(h.md5.data(), r.bytes(32, 16).data(), 16);
    h.blob_buffer_offset = r.be32(48);
    h.blob_buffer_size = r.be32(52);
    if (h.blob_buffer_offset < vma::blob_buffer_start ||
        std::uint64_t{h.blob_buffer_offset} + h.blob_buffer_size > h.header_size) {
        r.fail(48, fmt::format("vma header: blob buffer (offset {}, size {}) outside the header",
                               h.blob_buffer_offset, h.blob_buffer_size));
    }
    if (vma_header_md5(header) != h.md5) {
        r.fail(32, "vma header: md5 mismatch");
    }
    for (std::size_t i = 0; i < vma::max_configs; ++i) {
        const std::uint32_t name_ptr = r.be32(2044 + i * 4);
        const std::uint32_t data_ptr = r.be32(3068 + i * 4);
        if (name_ptr == 0 || data_ptr == 0) {
            continue;
        }
        VmaConfig c;
        c.name = blob_string(r, h.blob_buffer_offset, h.blob_buffer_size, name_ptr, "config name");
        const auto data = blob(r, h.blob_buffer_offset, h.blob_buffer_size, data_ptr, "config data");
        c.data.assign(reinterpret_cast<const char*>(data.data()), data.size());
        h.configs.push_back(std::move(c));
    }
    for (std::size_t id = 1; id <= vma::max_devices; ++id) {
        const std::size_t at = 4096 + id * 32;
        const std::uint32_t name_ptr = r.be32(at);
        const std::uint64_t size = r.be64(at + 8);
        if (name_ptr == 0 || size == 0) {
            continue;
        }
        h.devices.push_back(VmaDevice{
            static_cast<std::uint8_t>(id),
            blob_string(r, h.blob_buffer_offset, h.blob_buffer_size, name_ptr, "device name"), size});
    }
    return h;
}

std::string format_uuid(const Uuid& uuid)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < uuid.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            s += '-';
        }
        s += hex[uuid[i] >> 4];
        s += hex[uuid[i] & 15];
    }
    return s;
}

std::string format_utc(std::int64_t seconds)
{
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) {
        return std::to_string(seconds);
    }
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return {buf, n};
}

}  // namespace pvediff::formats
