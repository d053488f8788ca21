// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A backup's content digest of the kind its manifest records (store::ContentDigest;
// docs/formats.md, "Content digests"): the SHA-256 of the content, or the VMA item
// digest of a differential written without reading the clusters that did not change.
// Every reader of a manifest's digest computes it through ContentDigester and compares
// through content_digest_mismatch(), so a new kind is one change here.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands {

// Takes the digest of `kind` over the bytes given, in pieces of any size. Content that
// has no digest of this kind (vma_items over bytes that are not a VMA) is no error
// here: digest() is then nullopt and why_none() says why, so the caller reports it as
// the mismatch it is.
class ContentDigester {
public:
    // `name`: the content's name in why_none() ("'<file>' (rebuilt)").
    ContentDigester(store::ContentDigest kind, std::string name);
    ~ContentDigester();
    ContentDigester(const ContentDigester&) = delete;
    ContentDigester& operator=(const ContentDigester&) = delete;

    void update(std::span<const std::uint8_t> data);
    void finish();  // once, after the last update()
    [[nodiscard]] store::ContentDigest kind() const { return kind_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
    // After finish().
    [[nodiscard]] const std::optional<io::Digest>& digest() const { return digest_; }
    [[nodiscard]] const std::string& why_none() const { return why_none_; }

private:
    struct Items;
    store::ContentDigest kind_;
    std::unique_ptr<io::Sha256> sha_;  // kind sha256
    std::unique_ptr<Items> items_;     // kind vma_items
    std::uint64_t bytes_ = 0;
    std::optional<io::Digest> digest_;
    std::string why_none_;
};

// Passes every byte to `inner` and digests it. finish() finishes `inner` too.
class DigestingSink final : public io::ByteSink {
public:
    DigestingSink(io::ByteSink& inner, store::ContentDigest kind, std::string name)
        : inner_(inner), digester_(kind, std::move(name))
    {
    }
    void write(std::span<const std::uint8_t> data) override;
    void finish() override;
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    [[nodiscard]] const ContentDigester& digester() const { return digester_; }

private:
    io::ByteSink& inner_;
    ContentDigester digester_;
};

// Digests every byte read through it; finish() after the end of `inner`.
class DigestingSource final : public io::ByteSource {
public:
    DigestingSource(io::ByteSource& inner, store::ContentDigest kind)
        : inner_(inner), digester_(kind, inner.name())
    {
    }
    std::size_t read(std::span<std::uint8_t> buf) override;
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    void finish() { digester_.finish(); }
    [[nodiscard]] const ContentDigester& digester() const { return digester_; }

private:
    io::ByteSource& inner_;
    ContentDigester digester_;
};

// nullopt when `got` (finished) has the manifest's content size and digest; else what
// differs, without the file's name: "content digest (VMA items) <hex> (N bytes)
// differs from the manifest's <hex> (M bytes)" (kind sha256: "content SHA-256 ...").
std::optional<std::string> content_digest_mismatch(const store::Manifest& manifest,
                                                   const ContentDigester& got);
// The same for a digest taken elsewhere (nullopt `digest`: none, for `why_none`).
std::optional<std::string> content_digest_mismatch(const store::Manifest& manifest, std::uint64_t size,
                                                   const std::optional<io::Digest>& digest,
                                                   const std::string& why_none = {});

}  // namespace pvediff::commands
