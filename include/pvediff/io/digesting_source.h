// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A stream stage that hashes the bytes passing through it, so a content check costs no
// extra pass: DigestingSource<Sha256> (io::HashingSource), DigestingSource<Xxh128>.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "pvediff/io/byte_stream.h"

namespace pvediff::io {

// `Hasher`: update(span of bytes) and finish() (called once).
template <typename Hasher>
class DigestingSource final : public ByteSource {
public:
    explicit DigestingSource(ByteSource& inner) : inner_(inner) {}
    // Owning: the hashing stage can move onto a read-ahead thread with its source.
    explicit DigestingSource(std::unique_ptr<ByteSource> inner) : owned_(std::move(inner)), inner_(*owned_) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = inner_.read(buf);
        hasher_.update(buf.first(n));
        bytes_ += n;
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
    auto finish() { return hasher_.finish(); }

private:
    std::unique_ptr<ByteSource> owned_;  // set by the owning constructor; before inner_
    ByteSource& inner_;
    Hasher hasher_;
    std::uint64_t bytes_ = 0;
};

}  // namespace pvediff::io
