// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// XXH3-128 of a stream, without a key: a quick check that content read again is the
// content hashed before (a file damaged or replaced since), at a tenth of SHA-256's CPU.
// It is no defence against someone who chooses both contents; SHA-256 is that.
#include <array>
#include <cstdint>
#include <span>

#include "pvediff/io/digesting_source.h"

namespace pvediff::io {

using Xxh128Digest = std::array<std::uint8_t, 16>;

class Xxh128 {
public:
    Xxh128();
    ~Xxh128();
    Xxh128(const Xxh128&) = delete;
    Xxh128& operator=(const Xxh128&) = delete;
    void update(std::span<const std::uint8_t> data);
    [[nodiscard]] Xxh128Digest finish() const;  // big-endian (XXH's canonical form)

private:
    void* state_;  // XXH3_state_t, kept out of this header
};

using Xxh128Source = DigestingSource<Xxh128>;

}  // namespace pvediff::io
