// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A proof, gathered during the one encode, that a written differential rebuilds the
// new archive exactly; checked against the written file without decoding it against
// the full (docs/engine.md, "Proof instead of a second decode").
//
// The encoder records, in target order, one piece per instruction it hands the
// VCDIFF writer:
//   - literal: target bytes it writes as ADD (or RUN), with the keyed hash of those
//     bytes of the new archive;
//   - copy: target bytes it writes as a COPY of source[offset, +length), with the keyed
//     hash of the new archive's bytes there (target_hash), the keyed hash of the
//     full's bytes at that source range as read (source_hash; absent when the range was
//     never seen), and the Adler-32 of the bytes (for the window checksums).
// check_proof() then re-reads the written VCDIFF and walks it against the pieces: every
// target byte is accounted for exactly once, literal bytes hash to the recorded hash,
// every COPY lies on the diagonal of a copy piece whose two hashes are equal, every
// window's Adler-32 is the one of its pieces, and the total is the archive's length.
//
// Hash: XXH3-128 with a secret drawn from getrandom() per run: the guest chooses the
// bytes of both archives but never sees the secret, so it cannot aim at a collision.
//
// Pieces go to a scratch file (64 bytes each), not to memory; the checker reads them
// back in order.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/xxh128.h"

namespace pvediff::engine {

using ProofHash = io::Xxh128Digest;

// A keyed hash for one run.
class ProofKey {
public:
    static constexpr std::size_t secret_size = 192;
    // A fresh secret from getrandom(); throws io::Error if the kernel gives none.
    static ProofKey random();
    // A given secret (tests).
    explicit ProofKey(const std::array<std::uint8_t, secret_size>& secret) : secret_(secret) {}

    [[nodiscard]] ProofHash hash(std::span<const std::uint8_t> bytes) const;

    // The same hash over bytes given in several parts.
    class Stream {
    public:
        explicit Stream(const ProofKey& key) : hash_(key.secret_) {}
        void update(std::span<const std::uint8_t> bytes) { hash_.update(bytes); }
        [[nodiscard]] ProofHash digest() const { return hash_.finish(); }
        void reset() { hash_.reset(); }

    private:
        io::Xxh128 hash_;  // keyed by the secret of the key it was made with
    };

private:
    std::array<std::uint8_t, secret_size> secret_;
};

struct ProofPiece {
    enum class Kind : std::uint8_t { literal = 0, copy = 1 };
    Kind kind = Kind::literal;
    std::uint64_t target_offset = 0;
    std::uint64_t length = 0;
    std::uint64_t source_offset = 0;       // copy
    std::uint32_t adler = 1;               // copy: adler32 of the bytes (zlib's, initial 1)
    ProofHash target_hash{};               // of the new archive's bytes
    std::optional<ProofHash> source_hash;  // copy: of the full's bytes at the source range
};

class CopyProof {
public:
    // Pieces spill to an unnamed scratch file in `spill_dir`.
    CopyProof(const std::filesystem::path& spill_dir, ProofKey key);
    ~CopyProof();
    CopyProof(const CopyProof&) = delete;
    CopyProof& operator=(const CopyProof&) = delete;

    [[nodiscard]] const ProofKey& key() const { return key_; }

    // The next `bytes` of the target are written as literals. Consecutive literals
    // form one piece.
    void literal(std::span<const std::uint8_t> bytes);
    // The next `length` bytes of the target are written as one COPY from the full.
    void copy(std::uint64_t source_offset, std::uint64_t length, std::uint32_t adler,
              const ProofHash& target_hash, const std::optional<ProofHash>& source_hash);
    // A copy whose target and source bytes are both at hand (fine matching).
    void copy_seen(std::uint64_t source_offset, std::span<const std::uint8_t> target_bytes,
                   std::span<const std::uint8_t> source_bytes, std::uint32_t adler);
    // Ends recording; the proof is complete and covers target_bytes() bytes.
    void finish();
    [[nodiscard]] bool finished() const { return finished_; }
    [[nodiscard]] std::uint64_t target_bytes() const { return target_pos_; }
    [[nodiscard]] std::uint64_t pieces() const { return count_; }

    // Reads the pieces back, in order (after finish()).
    class Reader {
    public:
        explicit Reader(const CopyProof& proof) : proof_(proof) {}
        // False after the last piece.
        bool next(ProofPiece& piece);

    private:
        const CopyProof& proof_;
        std::uint64_t next_ = 0;
        std::vector<std::uint8_t> buf_;
        std::uint64_t buf_first_ = 0;
        std::uint64_t buf_count_ = 0;
    };

    // Tests: a recorded piece as it is, unchecked.
    void append(const ProofPiece& piece);

private:
    void close_literal();

    ProofKey key_;
    struct Store;
    std::unique_ptr<Store> store_;
    std::uint64_t count_ = 0;
    std::uint64_t target_pos_ = 0;
    ProofKey::Stream literal_hash_;
    std::uint64_t literal_start_ = 0;
    bool literal_open_ = false;
    bool finished_ = false;
};

struct ProofCheckResult {
    std::uint64_t windows = 0;
    std::uint64_t target_bytes = 0;
    std::uint64_t copied_bytes = 0;
    std::uint64_t literal_bytes = 0;
};

// Re-reads the decompressed VCDIFF `delta` (as written) and checks it against
// `proof` (finished), which must cover exactly `target_bytes`. Throws io::Error naming
// the delta and the offset of the first window that does not match. Bounded memory:
// one window (at most 16 MiB of target: its sections), a few pieces. `on_target`, if
// set, is told the target bytes checked so far after each window (progress).
ProofCheckResult check_proof(const CopyProof& proof, io::ByteSource& delta, std::uint64_t target_bytes,
                             const std::function<void(std::uint64_t)>& on_target = {});

}  // namespace pvediff::engine
