// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/xxh128.h"

#include <xxhash.h>

#include <algorithm>

#include "pvediff/io/error.h"

namespace pvediff::io {

namespace {

Xxh128Digest canonical(const XXH128_hash_t& h)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    Xxh128Digest out{};
    std::copy(std::begin(c.digest), std::end(c.digest), out.begin());
    return out;
}

std::span<const std::uint8_t> checked(std::span<const std::uint8_t> secret)
{
    if (!secret.empty() && secret.size() < XXH3_SECRET_SIZE_MIN) {
        throw Error("XXH3-128: a secret of fewer than 136 bytes");
    }
    return secret;
}

}  // namespace

Xxh128::Xxh128(std::span<const std::uint8_t> secret) : secret_(checked(secret)), state_(XXH3_createState())
{
    if (state_ == nullptr) {
        throw Error("out of memory");
    }
    reset();
}

Xxh128::~Xxh128()
{
    XXH3_freeState(static_cast<XXH3_state_t*>(state_));
}

void Xxh128::reset()
{
    auto* state = static_cast<XXH3_state_t*>(state_);
    if (secret_.empty()) {
        XXH3_128bits_reset(state);
    } else {
        XXH3_128bits_reset_withSecret(state, secret_.data(), secret_.size());
    }
}

void Xxh128::update(std::span<const std::uint8_t> data)
{
    XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), data.data(), data.size());
}

Xxh128Digest Xxh128::finish() const
{
    return canonical(XXH3_128bits_digest(static_cast<const XXH3_state_t*>(state_)));
}

Xxh128Digest xxh128(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t> secret)
{
    checked(secret);
    return canonical(secret.empty()
                         ? XXH3_128bits(bytes.data(), bytes.size())
                         : XXH3_128bits_withSecret(bytes.data(), bytes.size(), secret.data(), secret.size()));
}

}  // namespace pvediff::io
