// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// XXH3-128 of a stream. Without a key: a quick check that content read again is the
// content hashed before (a file damaged or replaced since), at a tenth of SHA-256's
// CPU; no defence against someone who chooses both contents (SHA-256 is that). With a
// secret nobody else sees: the keyed hash of the backup proof (engine/copy_proof.h).
#include <array>
#include <cstdint>
#include <span>

#include "pvediff/io/digesting_source.h"

namespace pvediff::io {

using Xxh128Digest = std::array<std::uint8_t, 16>;  // big-endian (XXH's canonical form)

class Xxh128 {
public:
    // `secret`: empty for the plain hash, else at least 136 bytes (XXH3's minimum),
    // which the caller keeps alive as long as this hasher.
    explicit Xxh128(std::span<const std::uint8_t> secret = {});
    ~Xxh128();
    Xxh128(const Xxh128&) = delete;
    Xxh128& operator=(const Xxh128&) = delete;
    void update(std::span<const std::uint8_t> data);
    // The hash of what was given so far (it may go on).
    [[nodiscard]] Xxh128Digest finish() const;
    // Starts again, with the same secret.
    void reset();

private:
    std::span<const std::uint8_t> secret_;  // checked before the state is made
    void* state_;                           // XXH3_state_t, kept out of this header
};

// The same hash of `bytes` at once.
Xxh128Digest xxh128(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t> secret = {});

using Xxh128Source = DigestingSource<Xxh128>;

}  // namespace pvediff::io
