// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/sha256.h"

#include <openssl/evp.h>

#include "pvediff/io/error.h"
#include "pvediff/io/library_handles.h"

namespace pvediff::io {

namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}
}  // namespace

struct Sha256::Impl {
    EvpMdCtx ctx{EVP_MD_CTX_new()};
    bool finished = false;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>())
{
    if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr) != 1) {
        throw Error("sha256: cannot initialise openssl digest");
    }
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::uint8_t> data)
{
    if (impl_->finished) {
        throw Error("sha256: update after finish");
    }
    if (!data.empty() && EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1) {
        throw Error("sha256: openssl digest update failed");
    }
}

Digest Sha256::finish()
{
    if (impl_->finished) {
        throw Error("sha256: digest already finished");
    }
    Digest digest{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(impl_->ctx.get(), digest.data(), &len) != 1 || len != digest.size()) {
        throw Error("sha256: openssl digest final failed");
    }
    impl_->finished = true;
    return digest;
}

std::string to_hex(const Digest& digest)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (const std::uint8_t b : digest) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0F]);
    }
    return out;
}

Digest digest_from_hex(std::string_view hex)
{
    Digest digest{};
    if (hex.size() != digest.size() * 2) {
        throw Error(fmt::format("invalid sha256 digest '{}': expected 64 hex digits", hex));
    }
    for (std::size_t i = 0; i < digest.size(); ++i) {
        const int hi = hex_value(hex[2 * i]);
        const int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            throw Error(fmt::format("invalid sha256 digest '{}': not a hex digit", hex));
        }
        digest[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return digest;
}

void HashingSink::write(std::span<const std::uint8_t> data)
{
    sha_.update(data);
    bytes_ += data.size();
    inner_.write(data);
}

}  // namespace pvediff::io
