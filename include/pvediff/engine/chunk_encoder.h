// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The chunked delta encoder: finds matches anywhere in the full, at a cost that grows
// with the size of the change, not with the distance (docs/engine.md).
//
// 1. The full's chunk index (chunk_index.h): loaded from its sidecar, or built by
//    streaming the base first.
// 2. The new archive is cut into chunks the same way; each chunk found in the index
//    becomes a COPY from wherever it sits in the full (adjacent copies merge).
// 3. Runs of chunks not found (the changed regions) are set aside with the ranges of
//    the full where they used to be; after the new archive, one read of the full keeps
//    just those ranges (base_capture.h) and finds the changed VMA clusters' blocks
//    wherever they were (block_scan.h). Then the plan is written in order, the
//    changed regions matched byte by byte against what was kept (fine matching); what
//    still differs becomes literals.
// 4. Output: standard VCDIFF windows (vcdiff_writer.h) that stock xdelta3 decodes.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "pvediff/engine/chunk_chunker.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/delta.h"
#include "pvediff/engine/vcdiff_writer.h"

namespace pvediff::engine {

struct ChunkEncodeStats {
    std::uint64_t chunks = 0;                // chunks of the new archive
    std::uint64_t chunk_hit_bytes = 0;       // target bytes matched by chunk lookups
    std::uint64_t gap_bytes = 0;             // target bytes in chunks not found
    std::uint64_t fine_copied_bytes = 0;     // of which fine matching turned into copies
    std::uint64_t clusters_by_position = 0;  // changed VMA clusters found by (dev, cluster)
    std::uint64_t cluster_base_bytes = 0;    // of the full's bytes captured for them
    std::uint64_t anchor_hits = 0;           // changed clusters placed by a sampled block
    std::uint64_t scan_found_blocks = 0;     // changed clusters' blocks found anywhere in the full
    std::uint64_t snippet_ranges = 0;        // ranges of the full asked for by snippet hits
    std::uint64_t beyond_horizon = 0;        // pieces of the full left out (restore_horizon)
    std::uint64_t far_copy_bytes = 0;        // chunk copies written as literals (far_copy_ratio)
    std::uint64_t copies_in_order = 0;       // copies from the expected place, not the first
    std::uint64_t base_kept_bytes = 0;       // of the full kept in the scratch file
    std::uint64_t index_entries = 0;
    std::uint64_t index_memory_bytes = 0;
    bool index_built = false;  // no stored index: built from the base stream
};

struct ChunkEncoderOptions {
    ChunkParams chunking;  // ignored when `index` is given: its parameters win
    VcdiffWriterOptions writer;
    // The full's stored index; null = build it from the base stream first (then the
    // base is consumed by that pass, see reopen_base).
    std::shared_ptr<const ChunkIndex> index;
    // How both the full and the new archive are cut; must be the same as when the
    // stored index was built.
    LayoutFactory layout = format_layout_factory();
    // Fine matching of changed regions against the full's bytes (step 3).
    bool fine_match = true;
    // Where the changed bytes and the full's old bytes wait until the instructions are
    // written (a scratch file, unlinked at once); empty = the system's temp dir.
    std::filesystem::path spill_dir;
    std::size_t max_gap = std::size_t{8} << 20;  // changed bytes matched at a time
    // A restore reads the full once, front to back, and sets aside what later windows
    // need. Fine matching leaves out pieces of the full lying further than this beyond
    // where a restore has read by then: a few bytes of matches there would make it
    // read ahead and set aside everything in between.
    std::uint64_t restore_horizon = std::uint64_t{256} << 20;
    // The same for copies found by chunk lookup: a run of them lying beyond the horizon
    // makes a restore read ahead to it and set aside what later windows need of the
    // bytes in between (and lets fine matching take pieces up to there). It is kept
    // only when it copies at least 1/far_copy_ratio of that distance (one byte per 64
    // KiB); else its bytes are written as literals. 33 KB found 8.8 GiB ahead made a
    // 32 GiB restore set aside 8.6 GiB; a 2 GB tar whose new files' first copies lie
    // 1.4 GiB ahead (64 KB) keeps them: without them its differential grew by 16 %,
    // fine matching then taking nothing beyond the horizon. 0: every copy is kept.
    std::uint64_t far_copy_ratio = 65536;
    // Without a stored index, fine matching needs the base a second time (the index
    // pass consumed `base`): opens it again (e.g. a new decompressor over the full's
    // file). Null = no fine matching when the index is built on the fly.
    std::function<std::unique_ptr<io::ByteSource>()> reopen_base;
    // Read the new archive on its own thread (its decompressor runs there).
    bool read_ahead = true;
    // Records the proof that the delta rebuilds the new archive (copy_proof.h) into it,
    // finished at the end of encode(), and takes the full's SHA-256 on its one read
    // (EncodeResult::base_sha256). Null = no proof. A proof needs the full's read: with
    // an index built on the fly and no reopen_base it stays unfinished.
    CopyProof* proof = nullptr;
    // Take the new archive's SHA-256 (EncodeResult::target_sha256). Off when the caller
    // hashes the same bytes on another thread (backup's structure check).
    bool hash_target = true;
    // Filled after each encode(), for benchmarks and reports; may be null.
    ChunkEncodeStats* stats = nullptr;
    // Without a stored index: given the index built from the base, with the SHA-256 of
    // the bytes it indexes (taken on the same pass, only when this is set), once
    // encode() succeeded; the caller may keep it as the full's sidecar.
    std::function<void(std::shared_ptr<const ChunkIndex>)> on_index_built;
    // Progress of the one read of the full that follows the new archive's (on the
    // calling thread): bytes of its content read so far, of its size. A large guest's
    // full takes minutes to read, and nothing else reports meanwhile.
    std::function<void(std::uint64_t done, std::uint64_t total)> on_base_read;
    // Progress of what follows that read, fine matching and writing the delta in the
    // new archive's order (on the calling thread): bytes of the new archive written
    // so far (ahead of the delta by at most the regions queued for matching), of its
    // size. A quarter of a backup's time, silent before.
    std::function<void(std::uint64_t done, std::uint64_t total)> on_write;
};

// encode() throws io::Error when a stored index does not match the base (size).
std::unique_ptr<Encoder> make_chunk_encoder(ChunkEncoderOptions options = {});

}  // namespace pvediff::engine
