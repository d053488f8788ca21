// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// SHA-256 through OpenSSL (which uses the CPU's SHA extensions), and stream stages
// that hash the bytes passing through them, so content checksums cost no extra pass.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/digesting_source.h"

namespace pvediff::io {

using Digest = std::array<std::uint8_t, 32>;
std::string to_hex(const Digest& digest);
// Throws io::Error for anything but 64 hex digits.
Digest digest_from_hex(std::string_view hex);

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::span<const std::uint8_t> data);
    Digest finish();  // may be called once

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

using HashingSource = DigestingSource<Sha256>;

class HashingSink final : public ByteSink {
public:
    explicit HashingSink(ByteSink& inner) : inner_(inner) {}
    void write(std::span<const std::uint8_t> data) override;
    void finish() override { inner_.finish(); }
    void mark_boundary() override { inner_.mark_boundary(); }
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
    Digest digest() { return sha_.finish(); }

private:
    ByteSink& inner_;
    Sha256 sha_;
    std::uint64_t bytes_ = 0;
};

}  // namespace pvediff::io
