// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/pipeline.h"

#include <fmt/format.h>

#include <vector>

#include "framed_full.h"
#include "pvediff/commands/content_digest.h"
#include "pvediff/commands/report.h"
#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/engine/smaller_of_encoder.h"
#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/threaded_stream.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands {

namespace {

// A file's decompressed content on a read-ahead thread, with its codec.
io::DecodedInput open_content(const std::string& path, std::size_t read_ahead_depth = io::stream_queue_depth)
{
    io::DecodedInput in = io::open_decompressed(path);
    in.source = io::make_read_ahead(std::move(in.source), io::stream_buffer_size, read_ahead_depth);
    return in;
}

// Buffers between a decoder and its neighbours: one VCDIFF window's worth (16 MiB).
// The decoder works a window at a time: it takes the full in bursts (as far as the
// window's copies reach), then copies without reading, and xdelta3 hands out the
// window's whole target at once. With 4 MiB queues the full's decompressor and the
// output's hashing thread each stopped while the decoder did the other half, and a
// restore used 1.3 of two cores; with a window between them 1.6 (1 GB VMA pair: wall
// -25 %, peak RSS +25 MiB; docs/engine.md, "Restore").
constexpr std::size_t decode_queue_depth = engine::vcdiff::max_target_window / io::stream_buffer_size;

}  // namespace

DifferentialWriting differential_writing(io::Codec codec, int threads)
{
    DifferentialWriting w;
    w.codec = codec;
    w.compress.threads = threads;
    if (codec == io::Codec::zstd) {
        // A differential is a few percent of its archive, so a stronger level costs
        // little time and takes ~9% off (zstd 3 -> 9 on the bench's VMA delta), which
        // is what puts it below `zstd --patch-from`.
        w.compress.level = 9;
        // An unchanged guest's differential is a few hundred bytes to a few KB of
        // VCDIFF: zstd's strongest level takes it in milliseconds and ~12 % off.
        w.compress.small_level = 19;
        w.compress.small_bytes = std::size_t{1} << 20;
        // zstd looks back as far as one VCDIFF window (16 MiB) instead of level 9's
        // 4 MiB, so new bytes repeated within a window are found again (9-94 % off
        // the NBD bench's differentials, docs/nbd.md), +12 MiB for writer and reader.
        w.compress.window_log = 24;
    }
    return w;
}

DifferentialWriting differential_writing(const store::EffectiveSettings& settings, io::Codec archive_codec)
{
    return differential_writing(store::differential_codec(settings.compress, archive_codec),
                                settings.zstd_threads);
}

ContentInfo hash_content(const std::string& path)
{
    io::DecodedInput in = open_content(path);
    io::HashingSource hashing(*in.source);
    drain(hashing);
    return {hashing.bytes(), hashing.finish(), in.codec};
}

std::filesystem::path index_path_for(const std::filesystem::path& full)
{
    return full.parent_path() / (full.filename().string() + ".pvediff-index");
}

ContentInfo hash_and_index(const std::string& path, const std::filesystem::path& index_path,
                           const std::filesystem::path& scratch_dir)
{
    io::DecodedInput in = open_content(path);
    io::HashingSource hashing(*in.source);
    engine::ChunkIndex index = engine::build_chunk_index(hashing, engine::ChunkParams{},
                                                         engine::format_layout_factory(), scratch_dir);
    drain(hashing);
    const ContentInfo content{hashing.bytes(), hashing.finish(), in.codec};
    index.set_content_size(content.size);
    index.set_content_sha256(content.sha256);
    index.save(index_path, io::mode_like(path));  // as secret as the full
    return content;
}

namespace {
// The full's stored index, when it is there, reads back whole and is of the full's
// content as its manifest records it; else (nullptr) the engine indexes the full in
// this run, and `refused` says so, and why, when there was an index. A full without a manifest
// (`pvediff diff` of loose files) has only the index's size checked, by the engine,
// once the full is read.
std::shared_ptr<const engine::ChunkIndex> load_index(const std::string& base_path,
                                                     const std::filesystem::path& scratch_dir,
                                                     std::string& refused)
{
    constexpr std::string_view indexed_instead = "; the full is indexed in this run instead";
    const auto path = index_path_for(base_path);
    if (!std::filesystem::exists(std::filesystem::symlink_status(path))) {
        return nullptr;
    }
    std::shared_ptr<const engine::ChunkIndex> index;
    try {
        index = std::make_shared<const engine::ChunkIndex>(engine::ChunkIndex::load(path, scratch_dir));
    } catch (const io::Error& e) {
        refused = fmt::format("the stored index {} is damaged ({}){}", path.filename().string(), e.what(),
                              indexed_instead);
        return nullptr;  // a damaged index only costs time: rebuild from the full
    }
    std::optional<store::Manifest> manifest;
    try {
        manifest = store::read_manifest(base_path);
    } catch (const io::Error&) {
        // The full's manifest is checked (and its problem named) where the full is
        // compared with it; without it there is nothing to tie the index to.
    }
    if (!manifest || manifest->content_digest != store::ContentDigest::sha256) {
        return index;
    }
    if (index->content_size() != manifest->content_size) {
        refused = fmt::format(
            "the stored index {} is of {} bytes of content, the full's manifest records {}{}",
            path.filename().string(), index->content_size(), manifest->content_size, indexed_instead);
        return nullptr;
    }
    if (index->content_sha256() && *index->content_sha256() != manifest->content_sha256) {
        refused = fmt::format("the stored index {} is of other content than the full's manifest records{}",
                              path.filename().string(), indexed_instead);
        return nullptr;
    }
    return index;
}

// The encoder of `settings.engine`; the chunked one notes in `outcome` whether it uses
// the full's stored index (also handed back in `stored`), and
// (EncodeSettings::keep_built_index) the index it builds.
std::unique_ptr<engine::Encoder> make_encoder_for(const std::string& base_path,
                                                  const EncodeSettings& settings, DiffOutcome& outcome,
                                                  std::shared_ptr<const engine::ChunkIndex>& stored)
{
    if (settings.engine != "default" && settings.engine != "chunked") {
        return engine::make_encoder(settings.engine);
    }
    engine::ChunkEncoderOptions options;
    // Scratch space beside the full (the dump dir has room for archives) unless the
    // settings name another place.
    options.spill_dir = settings.scratch_dir.empty() ? std::filesystem::absolute(base_path).parent_path()
                                                     : settings.scratch_dir;
    options.index = load_index(base_path, options.spill_dir, outcome.stored_index_refused);
    outcome.used_stored_index = options.index != nullptr;
    stored = options.index;
    if (settings.keep_built_index) {
        options.on_index_built = [&outcome](std::shared_ptr<const engine::ChunkIndex> index) {
            outcome.index_to_save = std::move(index);
        };
    }
    options.read_ahead = false;  // the pipeline reads the new archive ahead already
    options.reopen_base = [base_path] { return open_content(base_path).source; };
    options.proof = settings.proof;
    options.on_base_read = settings.on_full_read;
    options.on_write = settings.on_writing;
    // No SHA-256 of the new archive here: `backup` takes it beside the encoder (its
    // structure check's thread), `diff` needs none; on the reading thread it cost a third
    // of that thread's CPU. (encode.target_sha256 stays unset.)
    options.hash_target = false;
    // Small inputs also through plain xdelta3, keeping the smaller (issue 17); when
    // xdelta3's delta is kept, the proof does not cover it (EncodeResult::proof_covers_delta).
    return engine::make_smaller_of_encoder(engine::make_chunk_encoder(std::move(options)));
}
}  // namespace

DiffOutcome encode_differential(const std::string& base_path, io::DecodedInput target, io::ByteSink& out,
                                const EncodeSettings& settings)
{
    io::DecodedInput base = open_content(base_path);
    target.source = io::make_read_ahead(std::move(target.source));
    auto compressed = io::make_compressor(out, settings.writing.codec, settings.writing.compress);
    auto sink = io::make_write_behind(std::move(compressed));

    DiffOutcome outcome;
    std::shared_ptr<const engine::ChunkIndex> stored;
    outcome.encode =
        make_encoder_for(base_path, settings, outcome, stored)->encode(*base.source, *target.source, *sink);
    sink->finish();
    // A stored index of version 4 gets the XXH3-128 this run took of the full beside the
    // SHA-256 it records, so that later runs check the full by it, at a tenth of the CPU.
    const engine::EncodeResult& e = outcome.encode;
    if (settings.keep_built_index && stored && !stored->content_xxh128() && stored->content_sha256() &&
        e.base_xxh128 && e.base_sha256 == stored->content_sha256()) {
        engine::ChunkIndex upgraded = *stored;
        upgraded.set_content_xxh128(*e.base_xxh128);
        outcome.index_to_save = std::make_shared<const engine::ChunkIndex>(std::move(upgraded));
    }
    outcome.base.size = outcome.encode.base_bytes;
    outcome.base.codec = base.codec;
    if (outcome.encode.base_sha256) {
        outcome.base.sha256 = *outcome.encode.base_sha256;
        outcome.base_hashed = true;
    }
    outcome.new_codec = target.codec;
    return outcome;
}

KnownSizes manifest_sizes(const std::filesystem::path& full,
                          const std::optional<store::Manifest>& differential)
{
    if (differential && differential->delta) {
        return {differential->content_size, differential->delta->full_content_size};
    }
    try {
        if (const auto m = store::read_manifest(full); m && !m->is_differential()) {
            return {std::nullopt, m->content_size};
        }
    } catch (const io::Error&) {
        // A damaged manifest of the full bounds nothing; the checks of the content say more.
    }
    return {};
}

std::string frames_note(const engine::DecodeResult& decode)
{
    if (decode.frames_read == 0) {
        return {};
    }
    std::string note = fmt::format(", {} frame{} of the full read by random access ({})", decode.frames_read,
                                   decode.frames_read == 1 ? "" : "s", human_bytes(decode.frame_bytes_read));
    if (decode.frames_given_up) {
        note += fmt::format(" until they had given {} for {} decompressed, then the full read forward",
                            human_bytes(decode.frame_content_given),
                            human_bytes(decode.frame_content_decompressed));
    }
    return note;
}

RebuildOutcome rebuild_archive(const std::string& base_path, const std::string& delta_path, io::ByteSink& out,
                               const std::filesystem::path& spill_dir, ContentHashes hashes,
                               const KnownSizes& sizes, store::ContentDigest target_digest)
{
    // decode() reads the delta twice; standard input can only be read once.
    std::unique_ptr<io::AtomicFile> spool;
    std::string delta_file = delta_path;
    if (delta_path == "-") {
        spool = std::make_unique<io::AtomicFile>(spill_dir / "stdin-delta", 0600);
        auto in = io::open_file_source("-");
        io::copy_stream(*in, spool->sink());
        delta_file = spool->temp_path().string();
    }
    const engine::DeltaOpener open_delta = [&delta_file] {
        return io::make_read_ahead(io::open_decompressed(delta_file).source);
    };

    RebuildOutcome outcome;
    engine::DecodeOptions options;
    options.spill_dir = spill_dir;
    // Restoring from a dump dir mounted read-only, or one this user may only read: the
    // scratch file goes to the temporary directory ($TMPDIR, else /tmp) instead.
    std::error_code no_temp_dir;
    options.fallback_spill_dir = std::filesystem::temp_directory_path(no_temp_dir);
    options.max_target_bytes = sizes.archive;
    options.source_size = sizes.full;
    options.framed = detail::framed_full(base_path);
    // open_content() decompresses on a read-ahead thread already: the decoder reads
    // from it directly unless the full is hashed on a stage of its own.
    io::DecodedInput base = open_content(base_path, decode_queue_depth);
    if (hashes == ContentHashes::none) {
        outcome.decode = engine::decode(*base.source, open_delta, out, options);
        outcome.target = {outcome.decode.target_bytes, {}, io::Codec::none};
        outcome.base = {outcome.decode.base_bytes_read, {}, base.codec};
        return outcome;
    }
    io::SinkRef out_ref(out, /*forward_finish=*/false);  // the caller finishes `out`
    // The rebuilt archive's digest on the writing thread, beside the decoder.
    auto digesting_target = std::make_unique<DigestingSink>(
        out_ref, target_digest, (delta_path == "-" ? std::string("<stdin>") : delta_path) + " (rebuilt)");
    const ContentDigester& target_hash = digesting_target->digester();
    const auto target_behind =
        io::make_write_behind(std::move(digesting_target), io::stream_buffer_size, decode_queue_depth);
    auto take_target = [&] {
        outcome.target = {target_hash.bytes(), {}, io::Codec::none};
        outcome.target_digest = target_hash.digest();
        outcome.target_digest_none = target_hash.why_none();
        if (target_digest == store::ContentDigest::sha256) {
            outcome.target.sha256 = target_hash.digest().value_or(io::Digest{});
        }
    };
    if (hashes == ContentHashes::target) {
        outcome.decode = engine::decode(*base.source, open_delta, *target_behind, options);
        target_behind->finish();
        take_target();
        outcome.base = {outcome.decode.base_bytes_read, {}, base.codec};
        return outcome;
    }
    // The full's SHA-256 runs beside the decoder on a thread of its own, between its
    // decompressor's thread and the decoder.
    auto hashing_base = std::make_unique<io::HashingSource>(std::move(base.source));
    io::HashingSource& base_hash = *hashing_base;
    const auto base_ahead = io::make_read_ahead(std::move(hashing_base));

    outcome.decode = engine::decode(*base_ahead, open_delta, *target_behind, options);
    target_behind->finish();
    // The full's identity is checked over all of it, not only the parts referenced.
    // Once the read-ahead has delivered the end, its thread no longer touches base_hash.
    drain(*base_ahead);
    take_target();
    outcome.base = {base_hash.bytes(), base_hash.finish(), base.codec};
    return outcome;
}

}  // namespace pvediff::commands
