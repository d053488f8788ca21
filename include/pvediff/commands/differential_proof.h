// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What `backup` does instead of decoding a new differential against its full again
// (docs/engine.md, "Proof instead of a second decode"): the new archive's structure is
// checked on the encoder's one read of it, and the written file is checked against the
// proof the encoder recorded (engine/copy_proof.h).
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "pvediff/commands/content_check.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/io/codec.h"

namespace pvediff::commands {

// Hands the new archive's content to the encoder and, through a bounded pipe, to
// check_content() on its own thread: what the encoder reads is what is checked.
class CheckedInput {
public:
    explicit CheckedInput(io::DecodedInput input);
    ~CheckedInput();  // stops and joins the checker if finish() was not reached
    CheckedInput(const CheckedInput&) = delete;
    CheckedInput& operator=(const CheckedInput&) = delete;

    // The content for the encoder, once; it must be read to its end (or destroyed)
    // before finish().
    io::DecodedInput take();
    // The check of everything the encoder read. Throws if the checker failed.
    ContentCheck finish();

    struct State;

private:
    std::shared_ptr<State> state_;
    io::DecodedInput input_;
};

// Reads back the differential written to `fd` (from its start, through a descriptor of
// its own: the file's name may no longer be the one written), decompresses it and checks
// it against `proof` (check_proof()); throws io::Error naming `name` and the offset of
// what differs. `on_file_bytes` is told how many of the file's bytes (as stored) have
// been read back: the check accounts for copied content by its hash without reading it,
// so content bytes would race past in no time and say nothing of what was read.
engine::ProofCheckResult check_written_differential(
    int fd, const std::string& name, const engine::CopyProof& proof, std::uint64_t target_bytes,
    const std::function<void(std::uint64_t)>& on_file_bytes = {});

}  // namespace pvediff::commands
