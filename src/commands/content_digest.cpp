// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/content_digest.h"

#include <fmt/format.h>

#include "pvediff/formats/vma_item_digest.h"
#include "pvediff/io/error.h"

namespace pvediff::commands {

struct ContentDigester::Items {
    explicit Items(std::string name) : sink(std::move(name)) {}
    formats::VmaItemHashingSink sink;
    bool failed = false;
};

ContentDigester::ContentDigester(store::ContentDigest kind, std::string name) : kind_(kind)
{
    if (kind_ == store::ContentDigest::vma_items) {
        items_ = std::make_unique<Items>(std::move(name));
    } else {
        sha_ = std::make_unique<io::Sha256>();
    }
}

ContentDigester::~ContentDigester() = default;

void ContentDigester::update(std::span<const std::uint8_t> data)
{
    bytes_ += data.size();
    if (sha_) {
        sha_->update(data);
        return;
    }
    if (items_->failed) {
        return;  // counted only: the content has no item digest
    }
    try {
        items_->sink.write(data);
    } catch (const io::Error& e) {
        // Not a VMA (or a damaged one): a mismatch to report, not a reason to stop
        // the stream the caller is writing.
        items_->failed = true;
        why_none_ = fmt::format("the content is not a VMA ({})", e.what());
    }
}

void ContentDigester::finish()
{
    if (sha_) {
        digest_ = sha_->finish();
        return;
    }
    if (items_->failed) {
        return;
    }
    try {
        items_->sink.finish();
        digest_ = items_->sink.digest();
    } catch (const io::Error& e) {
        why_none_ = fmt::format("the content is not a VMA ({})", e.what());
    }
}

void DigestingSink::write(std::span<const std::uint8_t> data)
{
    digester_.update(data);
    inner_.write(data);
}

void DigestingSink::finish()
{
    digester_.finish();
    inner_.finish();
}

std::size_t DigestingSource::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = inner_.read(buf);
    digester_.update(buf.first(n));
    return n;
}

std::optional<std::string> content_digest_mismatch(const store::Manifest& manifest,
                                                   const ContentDigester& got)
{
    if (got.kind() != manifest.content_digest) {
        throw io::Error("content digest of another kind than the manifest's (a bug)");
    }
    return content_digest_mismatch(manifest, got.bytes(), got.digest(), got.why_none());
}

std::optional<std::string> content_digest_mismatch(const store::Manifest& manifest, std::uint64_t size,
                                                   const std::optional<io::Digest>& digest,
                                                   const std::string& why_none)
{
    const std::string_view label = store::content_digest_label(manifest.content_digest);
    if (!digest) {
        return fmt::format("{}: none ({} bytes): {}; the manifest records {} ({} bytes)", label, size,
                           why_none.empty() ? "not taken" : why_none, io::to_hex(manifest.content_sha256),
                           manifest.content_size);
    }
    if (*digest == manifest.content_sha256 && size == manifest.content_size) {
        return std::nullopt;
    }
    return fmt::format("{} {} ({} bytes) differs from the manifest's {} ({} bytes)", label,
                       io::to_hex(*digest), size, io::to_hex(manifest.content_sha256), manifest.content_size);
}

}  // namespace pvediff::commands
