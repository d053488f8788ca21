// SPDX-License-Identifier: GPL-2.0-or-later
// The proof that replaces a second decode (copy_proof.h): a correct differential
// passes; any change to the written file, or a fact that does not hold, fails.
#include <gtest/gtest.h>

#include <iostream>
#include <random>

#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/engine/copy_proof.h"
#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/engine/vcdiff_scan.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/sha256.h"
#include "test_util.h"

namespace pvediff::engine {
namespace {

using test::TempDir;

ProofKey test_key(std::uint8_t seed)
{
    std::array<std::uint8_t, ProofKey::secret_size> s{};
    for (std::size_t i = 0; i < s.size(); ++i) {
        s[i] = static_cast<std::uint8_t>(seed * 31 + i * 7 + (i >> 3));
    }
    return ProofKey(s);
}

// A full and a new archive that differ the ways backups do: pages rewritten in place,
// an insertion, a block moved far away, an appended tail.
struct Pair {
    std::vector<std::uint8_t> base;
    std::vector<std::uint8_t> target;
};

Pair make_pair()
{
    Pair p;
    p.base = test::make_data(6 << 20, 11);
    p.target = p.base;
    for (std::size_t at = 300000; at < p.target.size(); at += 700000) {
        for (std::size_t i = 0; i < 4096; ++i) {
            p.target[at + i] = static_cast<std::uint8_t>(p.target[at + i] * 7 + 1);
        }
    }
    const auto extra = test::make_data(50000, 12);
    p.target.insert(p.target.begin() + 1000000, extra.begin(), extra.end());
    std::rotate(p.target.begin() + 2000000, p.target.begin() + 2500000, p.target.begin() + 5000000);
    p.target.insert(p.target.end(), extra.begin(), extra.begin() + 20000);
    return p;
}

struct Encoded {
    std::vector<std::uint8_t> delta;
    EncodeResult result;
};

Encoded encode_with_proof(const TempDir& dir, const Pair& p, CopyProof& proof, std::uint64_t window_size)
{
    test::write_file(dir / "full", p.base);
    test::write_file(dir / "new", p.target);
    ChunkEncoderOptions options;
    options.spill_dir = dir.path();
    options.proof = &proof;
    options.writer.window_size = window_size;
    const auto full = (dir / "full").string();
    options.reopen_base = [full] { return io::open_file_source(full); };
    auto encoder = make_chunk_encoder(options);
    io::FileSource b(full);
    io::FileSource t((dir / "new").string());
    io::MemorySink sink;
    Encoded e;
    e.result = encoder->encode(b, t, sink);
    e.delta = sink.data();
    return e;
}

ProofCheckResult check(const CopyProof& proof, const std::vector<std::uint8_t>& delta, std::uint64_t size)
{
    io::MemorySource src(delta, "<written differential>");
    return check_proof(proof, src, size);
}

// Fails with a message that says what does not match.
void expect_fails(const CopyProof& proof, const std::vector<std::uint8_t>& delta, std::uint64_t size,
                  const std::string& because)
{
    try {
        check(proof, delta, size);
        ADD_FAILURE() << "accepted: " << because;
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("<written differential>"), std::string::npos) << e.what();
        std::cout << because << ": " << e.what() << "\n";
    }
}

// Where the sections of the window starting at `at` lie (the writer's layout).
struct WindowLayout {
    std::size_t seg_pos_at = 0;  // 0: no source
    std::size_t seg_pos_len = 0;
    std::size_t data_at = 0;
    std::uint64_t data_len = 0;
};

WindowLayout layout_of(const std::vector<std::uint8_t>& d, std::size_t at)
{
    WindowLayout w;
    std::size_t pos = at;
    const std::uint8_t win = d[pos++];
    if (win & vcdiff::win_source) {
        vcdiff::get_varint(d, pos);
        w.seg_pos_at = pos;
        vcdiff::get_varint(d, pos);
        w.seg_pos_len = pos - w.seg_pos_at;
    }
    vcdiff::get_varint(d, pos);  // delta length
    vcdiff::get_varint(d, pos);  // target length
    ++pos;                       // delta indicator
    w.data_len = *vcdiff::get_varint(d, pos);
    vcdiff::get_varint(d, pos);
    vcdiff::get_varint(d, pos);
    pos += 4;  // adler32
    w.data_at = pos;
    return w;
}

std::vector<ScannedWindow> windows_of(const std::vector<std::uint8_t>& delta)
{
    std::vector<ScannedWindow> out;
    io::MemorySource src(delta, "<delta>");
    scan_vcdiff(src, [&](const ScannedWindow& w) { out.push_back(w); });
    return out;
}

class CopyProofTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        pair_ = make_pair();
        proof_.emplace(dir_.path(), test_key(1));
        encoded_ = encode_with_proof(dir_, pair_, *proof_, std::uint64_t{1} << 20);
        windows_ = windows_of(encoded_.delta);
        ASSERT_TRUE(proof_->finished());
        ASSERT_GT(windows_.size(), 4U);
    }
    TempDir dir_;
    Pair pair_;
    std::optional<CopyProof> proof_;
    Encoded encoded_;
    std::vector<ScannedWindow> windows_;
};

TEST_F(CopyProofTest, CorrectDifferentialPassesAndStockXdelta3AgreesWithIt)
{
    const auto r = check(*proof_, encoded_.delta, pair_.target.size());
    EXPECT_EQ(r.target_bytes, pair_.target.size());
    EXPECT_EQ(r.windows, windows_.size());
    EXPECT_GT(r.copied_bytes, pair_.target.size() / 2);
    EXPECT_GT(r.literal_bytes, 0U);
    ASSERT_TRUE(encoded_.result.base_sha256.has_value());
    io::Sha256 sha;
    sha.update(pair_.base);
    EXPECT_EQ(*encoded_.result.base_sha256, sha.finish());
    // An index that cannot vouch for the full (here, one built in the run, without a
    // SHA-256 that ties it to a manifest): the XXH3-128 is taken beside the SHA-256.
    io::Xxh128 xxh;
    xxh.update(pair_.base);
    EXPECT_EQ(encoded_.result.base_xxh128, std::optional<io::Xxh128Digest>(xxh.finish()));
    test::write_file(dir_ / "delta", encoded_.delta);
    ASSERT_EQ(test::run("xdelta3 -d -f -s " + test::shell_quote((dir_ / "full").string()) + " " +
                        test::shell_quote((dir_ / "delta").string()) + " " +
                        test::shell_quote((dir_ / "rebuilt").string())),
              0);
    EXPECT_EQ(test::sha256_hex_of_file(dir_ / "rebuilt"), test::sha256_hex_of_file(dir_ / "new"));
}

// With a stored index that knows both hashes of the full's content, the read of the
// full is checked by the index's XXH3-128 and the full's SHA-256 is the index's (tied to
// the manifest by the caller), not taken again: a tenth of the CPU on that thread.
struct IndexedFull {
    Pair pair = make_pair();
    TempDir dir;
    std::shared_ptr<const ChunkIndex> index;
    explicit IndexedFull(const io::Digest& sha256)
    {
        test::write_file(dir / "indexed", pair.base);
        io::FileSource full((dir / "indexed").string());
        ChunkIndex built = build_chunk_index(full, ChunkParams{}, format_layout_factory(), dir.path());
        built.set_content_sha256(sha256);
        index = std::make_shared<const ChunkIndex>(std::move(built));
    }
    // Encodes pair.target against `base` (of pair.base's size) with the index.
    EncodeResult encode(const std::vector<std::uint8_t>& base)
    {
        CopyProof proof(dir.path(), test_key(2));
        test::write_file(dir / "full", base);
        test::write_file(dir / "new", pair.target);
        ChunkEncoderOptions options;
        options.spill_dir = dir.path();
        options.proof = &proof;
        options.index = index;
        auto encoder = make_chunk_encoder(options);
        io::FileSource b((dir / "full").string());
        io::FileSource t((dir / "new").string());
        io::MemorySink sink;
        return encoder->encode(b, t, sink);
    }
};

TEST(CopyProofFullIdentity, TheIndexXxh128ChecksTheFullAndItsSha256IsTheIndexs)
{
    io::Digest recorded{};
    recorded.fill(0x5a);  // not the content's: shows that it was not hashed again
    IndexedFull f(recorded);
    ASSERT_TRUE(f.index->content_xxh128().has_value());
    const EncodeResult r = f.encode(f.pair.base);
    ASSERT_TRUE(r.base_sha256.has_value());
    EXPECT_EQ(*r.base_sha256, recorded);
    EXPECT_TRUE(r.proof_covers_delta);
    EXPECT_FALSE(r.base_xxh128) << "the index has it already";
}

TEST(CopyProofFullIdentity, AFullChangedSinceItsIndexIsRefused)
{
    IndexedFull f(io::Digest{1});
    // One byte, the same size: every range the differential copies may still match.
    for (const std::size_t at : {std::size_t{0}, f.pair.base.size() / 2, f.pair.base.size() - 1}) {
        auto changed = f.pair.base;
        changed[at] ^= 0x01;
        try {
            (void)f.encode(changed);
            ADD_FAILURE() << "a full changed at " << at << " was used";
        } catch (const io::Error& e) {
            EXPECT_NE(std::string(e.what()).find("it was replaced or changed"), std::string::npos)
                << e.what();
            EXPECT_NE(std::string(e.what()).find((f.dir / "full").string()), std::string::npos) << e.what();
        }
    }
}

TEST_F(CopyProofTest, FlippedLiteralByteFails)
{
    for (const auto& w : windows_) {
        const WindowLayout l = layout_of(encoded_.delta, w.delta_offset);
        if (l.data_len > 0) {
            auto bad = encoded_.delta;
            bad[l.data_at + l.data_len / 2] ^= 0x01;
            expect_fails(*proof_, bad, pair_.target.size(), "literal byte flipped");
            return;
        }
    }
    FAIL() << "no window with literal bytes";
}

TEST_F(CopyProofTest, ChangedCopySourceOffsetFails)
{
    for (const auto& w : windows_) {
        const WindowLayout l = layout_of(encoded_.delta, w.delta_offset);
        if (l.seg_pos_at != 0) {
            auto bad = encoded_.delta;
            bad[l.seg_pos_at + l.seg_pos_len - 1] ^= 0x01;  // the segment's position, +-1
            expect_fails(*proof_, bad, pair_.target.size(), "copies moved by one byte");
            return;
        }
    }
    FAIL() << "no window with copies";
}

TEST_F(CopyProofTest, DroppedWindowFails)
{
    for (std::size_t k : {std::size_t{0}, windows_.size() / 2, windows_.size() - 1}) {
        auto bad = encoded_.delta;
        const std::size_t from = windows_[k].delta_offset;
        const std::size_t to = k + 1 < windows_.size() ? windows_[k + 1].delta_offset : bad.size();
        bad.erase(bad.begin() + static_cast<std::ptrdiff_t>(from),
                  bad.begin() + static_cast<std::ptrdiff_t>(to));
        expect_fails(*proof_, bad, pair_.target.size(), "window dropped");
    }
}

TEST_F(CopyProofTest, TruncatedFileFails)
{
    for (std::size_t len : {encoded_.delta.size() - 1, encoded_.delta.size() / 2, std::size_t{3}}) {
        const std::vector<std::uint8_t> bad(encoded_.delta.begin(),
                                            encoded_.delta.begin() + static_cast<std::ptrdiff_t>(len));
        expect_fails(*proof_, bad, pair_.target.size(), "truncated");
    }
}

TEST_F(CopyProofTest, FactWithWrongHashFails)
{
    // The same pieces, but one copy's full-side hash is not the new archive's: the
    // full did not hold those bytes there.
    CopyProof forged(dir_.path(), test_key(1));
    CopyProof::Reader reader(*proof_);
    ProofPiece p;
    bool changed = false;
    while (reader.next(p)) {
        if (!changed && p.kind == ProofPiece::Kind::copy && p.target_offset > 1000000) {
            (*p.source_hash)[0] ^= 0x80;
            changed = true;
        }
        forged.append(p);
    }
    forged.finish();
    ASSERT_TRUE(changed);
    expect_fails(forged, encoded_.delta, pair_.target.size(), "wrong hash");
}

TEST_F(CopyProofTest, WrongTargetSizeOrAnotherKeyFails)
{
    expect_fails(*proof_, encoded_.delta, pair_.target.size() + 1, "size");
    // A proof made with another secret hashes literals differently.
    CopyProof other(dir_.path(), test_key(2));
    CopyProof::Reader reader(*proof_);
    ProofPiece p;
    while (reader.next(p)) {
        other.append(p);
    }
    other.finish();
    expect_fails(other, encoded_.delta, pair_.target.size(), "other key");
}

}  // namespace
}  // namespace pvediff::engine
