// SPDX-License-Identifier: GPL-2.0-or-later
// The chunked encoder end to end on a full and a new archive the input makes: the plan
// (copies, changed regions, far copies, alternative places), the one read of the full
// that captures and hashes what the plan asked for, fine matching and the VCDIFF
// writer. Both archives are the guest's to choose, so any pair must give a delta.
//
// The input: one byte of settings (stored or built index, proof, a small restore
// horizon and far-copy ratio, a small max_gap), two bytes that split the rest into a
// program and the full. The program makes the new archive from pieces of the full
// (2-byte offset, 1-byte length, in units of 8 bytes), of the new archive made so far
// (a repeat), and literal bytes, so that the two share content at any alignment.
// Chunks are small (64..2048 bytes) so that short inputs have many.
//
// Oracles: the encoder accepts the pair (an io::Error is a finding here: nothing in
// the input is malformed); xdelta3's one-shot decoder rebuilds the new archive from
// the delta and the full exactly; with a proof that covers the delta, check_proof()
// passes on it.
#include <memory>

#include "fuzz_util.h"
#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/engine/copy_proof.h"
#include "xdelta3_oracle.h"

namespace {

using pvediff::engine::ChunkEncoderOptions;

constexpr std::size_t max_target = 1 << 20;

std::vector<std::uint8_t> make_target(std::span<const std::uint8_t> program,
                                      std::span<const std::uint8_t> full)
{
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < program.size() && out.size() < max_target;) {
        const std::uint8_t op = program[i++];
        if (op % 4 == 0) {  // literal: the next op / 4 bytes of the program
            const std::size_t n = std::min<std::size_t>(op / 4, program.size() - i);
            out.insert(out.end(), program.begin() + static_cast<std::ptrdiff_t>(i),
                       program.begin() + static_cast<std::ptrdiff_t>(i + n));
            i += n;
            continue;
        }
        if (i + 3 > program.size()) {
            break;
        }
        const std::size_t at = (std::size_t{program[i]} | std::size_t{program[i + 1]} << 8) * 8;
        const std::size_t len = (std::size_t{program[i + 2]} + 1) * 8 * (op % 4 == 3 ? 16 : 1);
        i += 3;
        // op 1 and 3: from the full (3: a long piece); op 2: a repeat of what was made.
        const std::span<const std::uint8_t> from = op % 4 == 2 ? std::span<const std::uint8_t>(out) : full;
        if (from.empty()) {
            continue;
        }
        const std::size_t start = at % from.size();
        const std::size_t n = std::min({len, from.size() - start, max_target - out.size()});
        // Copied first: `from` may be `out` itself, which the insert may move.
        const std::vector<std::uint8_t> piece(from.begin() + static_cast<std::ptrdiff_t>(start),
                                              from.begin() + static_cast<std::ptrdiff_t>(start + n));
        out.insert(out.end(), piece.begin(), piece.end());
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    if (size < 3) {
        return 0;
    }
    const std::uint8_t settings = data[0];
    const std::size_t split =
        std::min<std::size_t>(std::size_t{data[1]} | std::size_t{data[2]} << 8, size - 3);
    const auto program = fuzz::bytes(data + 3, split);
    const std::vector<std::uint8_t> full(data + 3 + split, data + size);
    const std::vector<std::uint8_t> target = make_target(program, full);

    fuzz::WorkDir dir;
    ChunkEncoderOptions options;
    options.chunking = engine::ChunkParams{64, 256, 2048, 4};
    options.spill_dir = dir.path();
    if ((settings & 1) != 0) {
        io::MemorySource base(full, "<full>");
        options.index = std::make_shared<const engine::ChunkIndex>(
            engine::build_chunk_index(base, options.chunking, options.layout, dir.path()));
    } else {
        options.reopen_base = [&full] { return std::make_unique<io::MemorySource>(full, "<full>"); };
    }
    if ((settings & 4) != 0) {
        options.restore_horizon = 4096;
        options.far_copy_ratio = 4;
    }
    if ((settings & 8) != 0) {
        options.max_gap = 1024;
    }
    std::optional<engine::CopyProof> proof;
    if ((settings & 2) != 0) {
        proof.emplace(dir.path(),
                      engine::ProofKey(std::array<std::uint8_t, engine::ProofKey::secret_size>{}));
        options.proof = &*proof;
    }

    io::MemorySource base(full, "<full>");
    io::MemorySource next(target, "<new>");
    io::MemorySink sink;
    const engine::EncodeResult result = engine::make_chunk_encoder(options)->encode(base, next, sink);
    const std::vector<std::uint8_t>& delta = sink.data();
    FUZZ_CHECK(result.target_bytes == target.size());

    FUZZ_CHECK(fuzz::xdelta3_rebuild(delta, full, target.size()) == target);

    if (proof && result.proof_covers_delta) {
        io::MemorySource written(delta, "<delta>");
        FUZZ_CHECK(!fuzz::refused([&] { (void)engine::check_proof(*proof, written, target.size()); }));
    }
    return 0;
}
