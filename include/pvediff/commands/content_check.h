// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// One pass over an archive's decompressed content that does everything `verify`
// wants of it: SHA-256 and size, and the structure check of its format (VMA as
// Proxmox's `vma verify` checks it plus coverage; tar through libarchive).
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pvediff/commands/pipeline.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/sha256.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands {

struct ContentCheck {
    std::uint64_t size = 0;
    io::Digest sha256{};
    std::string format;  // "vma", "tar", "unknown"
    bool structure_ok = false;
    std::string summary;  // "vma: 1 device, 163840 clusters, complete" ...
    std::vector<std::string> problems;
    // The content's digest of the kind check_content was asked for (`sha256` above holds
    // it for kind sha256 only); nullopt when not taken or when the content has none of
    // that kind (digest_none says why). Compared with a manifest through
    // content_digest_mismatch (content_digest.h).
    std::optional<io::Digest> digest;
    std::string digest_none;
    // For a differential: the full, as read while rebuilding.
    std::uint64_t base_size = 0;
    io::Digest base_sha256{};
};

// Bytes of content read so far, for a progress display (may be empty).
using OnContentBytes = std::function<void(std::uint64_t)>;
// Checks a decompressed archive stream; `hash` false leaves sha256 zero (the caller
// hashes the same bytes elsewhere). `kind`: the digest taken (the manifest's kind).
ContentCheck check_content(io::ByteSource& content, const OnContentBytes& on_bytes = {}, bool hash = true,
                           store::ContentDigest kind = store::ContentDigest::sha256);
// Decompresses and checks an archive file (`kind`: as for check_content).
ContentCheck check_archive_file(const std::filesystem::path& path, const OnContentBytes& on_bytes = {},
                                store::ContentDigest kind = store::ContentDigest::sha256);
// Reads through `inner` and writes every byte read to `copy`: one read of an input
// feeding two jobs (a full written while it is checked, an index built while it is).
class TeeSource final : public io::ByteSource {
public:
    TeeSource(io::ByteSource& inner, io::ByteSink& copy) : inner_(inner), copy_(copy) {}
    std::size_t read(std::span<std::uint8_t> buf) override;
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }

private:
    io::ByteSource& inner_;
    io::ByteSink& copy_;
};

// A new full read once: checked (as check_content does) and indexed (for the
// differentials to come) in the same pass; the checker runs on its own thread. The
// index is returned, not saved: the caller saves it only for a sound archive.
struct CheckedFull {
    ContentCheck check;
    engine::ChunkIndex index;
};
// `scratch_dir`: where the index is sorted (an unnamed file; beside the full).
// `copy`: also given every byte of the content as it is read (not finished here).
CheckedFull check_and_index(io::DecodedInput content, const std::filesystem::path& scratch_dir,
                            io::ByteSink* copy = nullptr);

// Rebuilds a differential against its full in a stream and checks the result; the
// rebuilt archive is never written to disk.
// `kind`: the digest of the rebuilt archive taken (its manifest's kind).
ContentCheck check_differential(const std::filesystem::path& full, const std::filesystem::path& differential,
                                const std::filesystem::path& spill_dir, const KnownSizes& sizes = {},
                                const OnContentBytes& on_bytes = {},
                                store::ContentDigest kind = store::ContentDigest::sha256);

}  // namespace pvediff::commands
