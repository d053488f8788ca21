// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/xxh128.h"

#include <xxhash.h>

#include <algorithm>

#include "pvediff/io/error.h"

namespace pvediff::io {

Xxh128::Xxh128() : state_(XXH3_createState())
{
    if (state_ == nullptr) {
        throw Error("out of memory");
    }
    XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}

Xxh128::~Xxh128()
{
    XXH3_freeState(static_cast<XXH3_state_t*>(state_));
}

void Xxh128::update(std::span<const std::uint8_t> data)
{
    XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), data.data(), data.size());
}

Xxh128Digest Xxh128::finish() const
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(static_cast<const XXH3_state_t*>(state_)));
    Xxh128Digest out{};
    std::copy(std::begin(c.digest), std::end(c.digest), out.begin());
    return out;
}

}  // namespace pvediff::io
