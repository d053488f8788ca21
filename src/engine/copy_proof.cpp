// SPDX-License-Identifier: GPL-2.0-or-later
// Recording the proof (copy_proof.h): the keyed hash, the pieces in their scratch
// file, and the hashes of the full's ranges during its one read.
#include "pvediff/engine/copy_proof.h"

#include <sys/random.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "spill_file.h"

namespace pvediff::engine {

namespace {

static_assert(ProofKey::secret_size >= XXH3_SECRET_SIZE_MIN);

// One piece as stored: t, length, source (8 bytes each, little-endian), adler (4),
// kind (1), has source hash (1), 2 unused, target hash (16), source hash (16).
constexpr std::size_t record_size = 64;
constexpr std::size_t records_per_read = 4096;

void encode_piece(const ProofPiece& p, std::uint8_t* r)
{
    std::memset(r, 0, record_size);
    io::store_le64(r, p.target_offset);
    io::store_le64(r + 8, p.length);
    io::store_le64(r + 16, p.source_offset);
    io::store_le32(r + 24, p.adler);
    r[28] = static_cast<std::uint8_t>(p.kind);
    r[29] = p.source_hash ? 1 : 0;
    std::memcpy(r + 32, p.target_hash.data(), 16);
    if (p.source_hash) {
        std::memcpy(r + 48, p.source_hash->data(), 16);
    }
}

ProofPiece decode_piece(const std::uint8_t* r)
{
    ProofPiece p;
    p.target_offset = io::load_le64(r);
    p.length = io::load_le64(r + 8);
    p.source_offset = io::load_le64(r + 16);
    p.adler = io::load_le32(r + 24);
    p.kind = r[28] == 1 ? ProofPiece::Kind::copy : ProofPiece::Kind::literal;
    std::memcpy(p.target_hash.data(), r + 32, 16);
    if (r[29] != 0) {
        ProofHash h;
        std::memcpy(h.data(), r + 48, 16);
        p.source_hash = h;
    }
    return p;
}

}  // namespace

ProofKey ProofKey::random()
{
    std::array<std::uint8_t, secret_size> secret{};
    std::size_t got = 0;
    while (got < secret.size()) {
        const ssize_t n = ::getrandom(secret.data() + got, secret.size() - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            io::throw_errno("getrandom", "proof secret", errno);
        }
        got += static_cast<std::size_t>(n);
    }
    return ProofKey(secret);
}

ProofHash ProofKey::hash(std::span<const std::uint8_t> bytes) const
{
    return io::xxh128(bytes, secret_);
}

struct CopyProof::Store {
    explicit Store(const std::filesystem::path& dir) : spill(dir) {}
    detail::SpillFile spill;
    std::vector<std::uint8_t> pending;  // records not yet appended
};

CopyProof::CopyProof(const std::filesystem::path& spill_dir, ProofKey key)
    : key_(key), store_(std::make_unique<Store>(spill_dir)), literal_hash_(key_)
{
}

CopyProof::~CopyProof() = default;

void CopyProof::append(const ProofPiece& piece)
{
    if (finished_) {
        throw io::Error("copy proof: piece after finish()");
    }
    const std::size_t at = store_->pending.size();
    store_->pending.resize(at + record_size);
    encode_piece(piece, store_->pending.data() + at);
    if (store_->pending.size() >= records_per_read * record_size) {
        store_->spill.append(store_->pending);
        store_->pending.clear();
    }
    ++count_;
    target_pos_ = std::max(target_pos_, piece.target_offset + piece.length);
}

void CopyProof::close_literal()
{
    if (!literal_open_) {
        return;
    }
    literal_open_ = false;
    ProofPiece p;
    p.kind = ProofPiece::Kind::literal;
    p.target_offset = literal_start_;
    p.length = target_pos_ - literal_start_;
    p.target_hash = literal_hash_.digest();
    const std::uint64_t end = target_pos_;
    append(p);
    target_pos_ = end;
}

void CopyProof::literal(std::span<const std::uint8_t> bytes)
{
    if (bytes.empty()) {
        return;
    }
    if (!literal_open_) {
        literal_open_ = true;
        literal_start_ = target_pos_;
        literal_hash_.reset();
    }
    literal_hash_.update(bytes);
    target_pos_ += bytes.size();
}

void CopyProof::copy(std::uint64_t source_offset, std::uint64_t length, std::uint32_t adler,
                     const ProofHash& target_hash, const std::optional<ProofHash>& source_hash)
{
    if (length == 0) {
        return;
    }
    close_literal();
    ProofPiece p;
    p.kind = ProofPiece::Kind::copy;
    p.target_offset = target_pos_;
    p.length = length;
    p.source_offset = source_offset;
    p.adler = adler;
    p.target_hash = target_hash;
    p.source_hash = source_hash;
    append(p);
}

void CopyProof::copy_seen(std::uint64_t source_offset, std::span<const std::uint8_t> target_bytes,
                          std::span<const std::uint8_t> source_bytes, std::uint32_t adler)
{
    copy(source_offset, target_bytes.size(), adler, key_.hash(target_bytes), key_.hash(source_bytes));
}

void CopyProof::finish()
{
    close_literal();
    if (!store_->pending.empty()) {
        store_->spill.append(store_->pending);
        store_->pending.clear();
    }
    finished_ = true;
}

bool CopyProof::Reader::next(ProofPiece& piece)
{
    if (!proof_.finished_) {
        throw io::Error("copy proof: read before finish()");
    }
    if (next_ >= proof_.count_) {
        return false;
    }
    if (next_ >= buf_first_ + buf_count_) {
        buf_first_ = next_;
        buf_count_ = std::min<std::uint64_t>(records_per_read, proof_.count_ - next_);
        buf_.resize(static_cast<std::size_t>(buf_count_) * record_size);
        proof_.store_->spill.read(buf_first_ * record_size, buf_);
    }
    piece = decode_piece(buf_.data() + static_cast<std::size_t>(next_ - buf_first_) * record_size);
    ++next_;
    return true;
}

}  // namespace pvediff::engine
