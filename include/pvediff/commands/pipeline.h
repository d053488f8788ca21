// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The three streaming jobs every command is made of: hash an archive's content,
// encode a differential into a temporary file, and rebuild an archive from a full and
// a differential (hashing both sides on the way). Each reads its inputs once, with
// decompression on read-ahead threads and compression on a write-behind thread.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "pvediff/engine/chunk_index.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/delta.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/sha256.h"
#include "pvediff/store/config.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands {

struct ContentInfo {
    std::uint64_t size = 0;
    io::Digest sha256{};
    io::Codec codec = io::Codec::none;
};

// Decompresses `path` ("-" = stdin) and hashes its content.
ContentInfo hash_content(const std::string& path);
// Hashes a full's content and, in the same pass, builds its chunk index, saved to
// `index_path` (so later differentials against it need not read it twice).
ContentInfo hash_and_index(const std::string& path, const std::filesystem::path& index_path,
                           const std::filesystem::path& scratch_dir);
// `<full>.pvediff-index`
std::filesystem::path index_path_for(const std::filesystem::path& full);

// How a differential is written: its codec and its compression. Decided by
// differential_writing() only, for backup and for `pvediff diff`.
struct DifferentialWriting {
    io::Codec codec = io::Codec::zstd;
    io::CompressOptions compress;
};
// `codec` with `threads` compression threads: zstd at level 9 (a differential is a
// few percent of its archive, so a stronger level costs little time and takes ~9 %
// off, which puts it below `zstd --patch-from`) with a 16 MiB window (one VCDIFF
// window; one thread), and level 19 when its VCDIFF is at most 1 MiB (an idle
// guest's: milliseconds, ~12 % off).
DifferentialWriting differential_writing(io::Codec codec, int threads);
// A backup's differential: the codec the settings' `compress` gives for an archive
// of `archive_codec` (store::differential_codec), with the settings' zstd threads.
DifferentialWriting differential_writing(const store::EffectiveSettings& settings, io::Codec archive_codec);

struct EncodeSettings {
    std::string engine = "default";  // "default"/"chunked" (uses <full>.pvediff-index if present)
    DifferentialWriting writing;     // of the differential file
    // The chunked engine records its proof here (engine/copy_proof.h) and takes the
    // full's SHA-256 (DiffOutcome::base.sha256); other engines leave it unfinished.
    engine::CopyProof* proof = nullptr;
    // Without a usable stored index, the chunked engine indexes the full first: hand
    // that index out (DiffOutcome::index_to_save), with the SHA-256 of what it indexed;
    // and a stored index of version 4, with the XXH3-128 this run took of the full.
    bool keep_built_index = false;
    // Where the engine's scratch files go (scratch_dir.h); empty: beside the full.
    std::filesystem::path scratch_dir;
    // The chunked engine's read of the full, after the new archive's: bytes of its
    // content so far, of its size (engine::ChunkEncoderOptions::on_base_read).
    std::function<void(std::uint64_t done, std::uint64_t total)> on_full_read;
    // Then fine matching and writing: bytes of the new archive written, of its size
    // (engine::ChunkEncoderOptions::on_write).
    std::function<void(std::uint64_t done, std::uint64_t total)> on_writing;
};

struct DiffOutcome {
    engine::EncodeResult encode;
    bool used_stored_index = false;
    // When the full has a stored index that was not used, a sentence saying so and why
    // (the full was indexed in this run instead), for the output; empty otherwise.
    std::string stored_index_refused;
    // An index of the full to save as its sidecar once the differential is in place
    // (EncodeSettings::keep_built_index): the one the chunked engine built from the
    // full, or the stored one of version 4 with the XXH3-128 of the full this run took
    // beside the SHA-256 that index records.
    std::shared_ptr<const engine::ChunkIndex> index_to_save;
    ContentInfo base;          // size and codec of the full; sha256 only if the engine read all of it
    bool base_hashed = false;  // base.sha256 is set (a proof was asked for and made)
    io::Codec new_codec = io::Codec::none;
};

// Encodes the new archive (already opened and decompressed, e.g. by
// io::open_decompressed("-")) against the full `base_path` into `out` (not committed:
// the caller verifies first). Finishes the compressor it puts in front of `out`, not `out`.
DiffOutcome encode_differential(const std::string& base_path, io::DecodedInput target, io::ByteSink& out,
                                const EncodeSettings& settings);

struct RebuildOutcome {
    engine::DecodeResult decode;
    ContentInfo target;  // of the rebuilt archive (before `out`'s own compression)
    ContentInfo base;    // of the full, all of it read and hashed
    // The rebuilt archive's digest of the kind rebuild_archive was asked for (equal to
    // target.sha256 for kind sha256; target.sha256 stays zero for another kind). nullopt
    // when it was not taken (ContentHashes::none) or the content has none of that kind
    // (vma_items: not a VMA; target_digest_none says why).
    std::optional<io::Digest> target_digest;
    std::string target_digest_none;
};

// Whether rebuild_archive takes the SHA-256 of the full and of the rebuilt archive:
// restores and checks compare them with the manifests; `pvediff patch` has no
// manifest to compare with (each VCDIFF window carries its own Adler-32), and the
// two hashes are 3 s of CPU per 2 GB. `target`: the rebuilt archive's only, for a
// restore, which the rebuilt archive's digest proves (restore.cpp says why). Without
// a hash, its sha256 field stays zero; without the full's, `base.size` counts the
// bytes of the full the decoder read.
enum class ContentHashes { both, target, none };

// What the manifests record about a rebuild, when they are there: the decoder's bounds
// (engine::DecodeOptions::max_target_bytes and source_size).
struct KnownSizes {
    std::optional<std::uint64_t> archive;  // the rebuilt archive's content size
    std::optional<std::uint64_t> full;     // the full's content size
};
// From the differential's manifest, else (the full's size only) from the full's.
KnownSizes manifest_sizes(const std::filesystem::path& full,
                          const std::optional<store::Manifest>& differential);

// ", 3 frames of the full read by random access (12.1 MiB)", or nothing when the
// decoder read none: for the lines that restore and patch print.
std::string frames_note(const engine::DecodeResult& decode);

// Rebuilds the archive that `delta_path` stands for against `base_path` into `out`
// (raw bytes; wrap `out` in a compressor to get a compressed archive). The full is read
// exactly once; a stdin delta is spooled to a temporary file in spill_dir first.
// `target_digest`: the kind of digest taken of the rebuilt archive (when `hashes` takes
// one): the kind the differential's manifest records (store::Manifest::content_digest),
// so an ordinary differential costs one SHA-256 as before.
RebuildOutcome rebuild_archive(const std::string& base_path, const std::string& delta_path, io::ByteSink& out,
                               const std::filesystem::path& spill_dir,
                               ContentHashes hashes = ContentHashes::both, const KnownSizes& sizes = {},
                               store::ContentDigest target_digest = store::ContentDigest::sha256);

}  // namespace pvediff::commands
