// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The manifest sidecar "<file>.pvediff-manifest": what pvediff knows about a
// backup's decompressed content, so verify and restore can check the bytes they
// rebuild. A small text file of `key: value` lines, written atomically:
//
//   format-version: 1                      (first key; a higher version is refused)
//   kind: full | differential
//   file: <the backup's file name>
//   codec: none | zstd | lzo | gzip        (of the file on disk)
//   content-size: <decompressed bytes>     (a differential: of the archive it stands for)
//   content-sha256: <64 hex digits>       exactly one of these two: the content's digest
//   content-vma-items-sha256: <hex>         | and its kind (docs/formats.md, "Content
//                                           | digests"); the second only for a differential
//                                           | of a VMA full (full-name names a .vma)
//   full-name: <full's file name>           + differentials only (required there,
//   full-content-size: <bytes>              | refused in a full's manifest): what it
//   full-content-sha256: <hex>              | was made against and how; delta-bytes
//   engine: <encoder name>                  | is optional
//   copied-bytes / literal-bytes / windows / delta-bytes: <numbers>
//   created: 2026-11-20T01:00:05Z          (UTC)
//   pvediff-version: 0.1.0
//
// The reader is strict (a missing or repeated key, a bad number or digest: error
// naming the file and line) but keeps keys it does not know, in order, and writes
// them back: a newer pvediff may add keys without breaking an older one.
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pvediff/io/codec.h"
#include "pvediff/io/sha256.h"

namespace pvediff::store {

inline constexpr int manifest_format_version = 1;
inline constexpr std::size_t manifest_max_size = std::size_t{64} * 1024;

struct DeltaInfo {
    std::string full_name;
    std::uint64_t full_content_size = 0;
    io::Digest full_content_sha256{};
    std::string engine;
    std::uint64_t copied_bytes = 0;
    std::uint64_t literal_bytes = 0;
    std::uint64_t windows = 0;
    std::uint64_t delta_bytes = 0;  // VCDIFF bytes before the outer compression

    friend bool operator==(const DeltaInfo&, const DeltaInfo&) = default;
};

// How a backup's content digest is taken (docs/formats.md, "Content digests").
enum class ContentDigest {
    sha256,     // SHA-256 of the decompressed content (key content-sha256)
    vma_items,  // formats::VmaItemDigest of the decompressed VMA (key
                // content-vma-items-sha256): a differential written without reading the
                // clusters that did not change; an older pvediff refuses such a manifest
                // (it requires content-sha256)
};
// "sha256", "vma-items": as reports and JSON name the kind.
std::string_view content_digest_name(ContentDigest kind);
// "content SHA-256", "content digest (VMA items)": as messages name it.
std::string_view content_digest_label(ContentDigest kind);

struct Manifest {
    std::string file;
    io::Codec codec = io::Codec::none;
    std::uint64_t content_size = 0;
    // The content's digest of kind content_digest (the field keeps its older name: for
    // every full and most differentials it is the content's SHA-256).
    io::Digest content_sha256{};
    ContentDigest content_digest = ContentDigest::sha256;
    std::optional<DeltaInfo> delta;  // set: kind differential
    std::time_t created = 0;
    std::string pvediff_version;
    std::vector<std::pair<std::string, std::string>> unknown;  // kept for forward compatibility

    [[nodiscard]] bool is_differential() const { return delta.has_value(); }
    friend bool operator==(const Manifest&, const Manifest&) = default;
};

std::string format_manifest(const Manifest& m);
// `origin` names the file in messages: "'<origin>': line 4: bad content-size 'x'".
Manifest parse_manifest(std::string_view text, const std::string& origin);

// "<file>.pvediff-manifest"
std::filesystem::path manifest_path_for(const std::filesystem::path& file);
// Writes the manifest of `file` atomically (temp name, fsync, rename, dir fsync).
void write_manifest(const std::filesystem::path& file, const Manifest& m);
// The manifest of `file`: nullopt when there is none (a full of the older add-on,
// or one pvediff has not seen yet); io::Error when it is unreadable, malformed, or
// describes another file (its `file:` is not `file`'s name).
std::optional<Manifest> read_manifest(const std::filesystem::path& file);
// The same, with an unusable manifest counted as none: for listings and checks,
// which report that problem their own way.
std::optional<Manifest> read_manifest_or_none(const std::filesystem::path& file);

// "Is this the full the differential was made against?", asked by restore, verify and
// backup, answered here once and in one wording. `seen`: the full's content SHA-256
// as read (or as the full's own manifest gives it); `recorded`: as the differential's
// manifest (or, for a chain, the full's manifest) records it; `made_for`: who
// recorded it ("'<differential>'", "its differentials"). nullopt when they agree,
// else the message, naming the full.
std::optional<std::string> full_mismatch(const std::filesystem::path& full, const io::Digest& seen,
                                         const io::Digest& recorded, std::string_view made_for);

}  // namespace pvediff::store
