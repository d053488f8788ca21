// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The content digest of a VMA that can be computed without every byte in one hash
// (docs/formats.md, "Content digests"): SHA-256 over the string
// "pvediff-vma-items-1\n" followed by the SHA-256 of each item of the stream, in
// stream order, where the items are
//   - the VMA header (header_size bytes),
//   - each extent's 512-byte header,
//   - each cluster's stored blocks, in the order of the extent's block infos (a cluster
//     with no stored block is no item).
// A differential written from a cluster plan records this digest instead of the
// content's SHA-256 (manifest key `content-vma-items-sha256`): a clean cluster's item
// hash is the one the full's records hold, so the run never reads it. Restore and
// verify compute it over the rebuilt stream (VmaItemHashingSink) at the cost of one
// SHA-256 pass, as for the plain digest. It is as strong as a SHA-256 of the content:
// the items' boundaries are fixed by the bytes of the headers, which are items too.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/sha256.h"

namespace pvediff::formats {

class VmaItemDigest {
public:
    VmaItemDigest();
    void add_item(std::span<const std::uint8_t> bytes);  // adds sha256(bytes)
    void add_item_hash(const io::Digest& item_sha256);
    io::Digest finish();  // once

private:
    io::Sha256 sha_;
};

// Takes a decompressed VMA stream in pieces of any size, splits it into items and
// digests them. Throws io::Error (a parse error naming `name` and the offset) when the
// stream is not a VMA; finish() throws unless it ended at an extent boundary. Memory:
// one VMA header (bounded by vma::max_header_size) and one extent header.
class VmaItemHashingSink final : public io::ByteSink {
public:
    explicit VmaItemHashingSink(std::string name);
    ~VmaItemHashingSink() override;
    void write(std::span<const std::uint8_t> data) override;
    void finish() override;
    [[nodiscard]] const std::string& name() const override;
    [[nodiscard]] std::uint64_t bytes() const;
    [[nodiscard]] io::Digest digest() const;  // after finish()

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pvediff::formats
