// SPDX-License-Identifier: GPL-2.0-or-later
// The VMA item digest: equal to a reference computed here from the definition, the
// same for every split of the stream into pieces, and refusing what is not a VMA.
#include <gtest/gtest.h>

#include <bit>
#include <string_view>

#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_item_digest.h"
#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "test_formats_helpers.h"

namespace pvediff::formats {
namespace {

// The definition in vma_item_digest.h, written out over the whole buffer at once:
// SHA-256("pvediff-vma-items-1\n" || sha256(header) || for each extent:
// sha256(extent header) || sha256(stored blocks of each cluster that has some)).
io::Digest reference_digest(std::span<const std::uint8_t> vma)
{
    const std::string_view domain = "pvediff-vma-items-1\n";
    std::vector<std::uint8_t> hashes(domain.begin(), domain.end());
    auto add = [&](std::span<const std::uint8_t> item) {
        const io::Digest d = test::sha256_of(item);
        hashes.insert(hashes.end(), d.begin(), d.end());
    };
    const std::size_t header_size = io::load_be32(vma.data() + 56);
    add(vma.first(header_size));
    std::size_t at = header_size;
    while (at < vma.size()) {
        const auto extent_header = vma.subspan(at, 512);
        add(extent_header);
        at += 512;
        for (std::size_t slot = 0; slot < 59; ++slot) {
            const std::uint64_t info = io::load_be64(extent_header.data() + 40 + slot * 8);
            if (((info >> 32) & 0xff) == 0) {
                continue;  // device 0: an unused slot
            }
            const std::size_t stored =
                static_cast<std::size_t>(std::popcount(static_cast<std::uint16_t>(info >> 48))) * 4096;
            if (stored != 0) {
                add(vma.subspan(at, stored));
                at += stored;
            }
        }
    }
    EXPECT_EQ(at, vma.size());
    return test::sha256_of(hashes);
}

io::Digest digest_in_pieces(std::span<const std::uint8_t> vma, std::size_t piece,
                            const std::string& name = "x.vma")
{
    VmaItemHashingSink sink(name);
    for (std::size_t at = 0; at < vma.size(); at += piece) {
        sink.write(vma.subspan(at, std::min(piece, vma.size() - at)));
    }
    sink.finish();
    EXPECT_EQ(sink.bytes(), vma.size());
    return sink.digest();
}

std::string error_of(std::span<const std::uint8_t> vma, std::size_t piece = 4096)
{
    try {
        (void)digest_in_pieces(vma, piece, "/dump/x.vma");
    } catch (const io::Error& e) {
        return e.what();
    }
    return "no error";
}

std::vector<std::uint8_t> synthetic_vma()
{
    const std::vector<test::SyntheticDevice> devs = {{"drive-scsi0", 8U << 20}, {"drive-efidisk0", 200000}};
    const std::vector<std::vector<std::uint8_t>> disks = {test::synthetic_disk(devs[0].size, 3),
                                                          test::synthetic_disk(devs[1].size, 4)};
    return test::write_vma(devs, disks, {}, 7);
}

// The offset of the first extent's header and of its first stored block.
std::size_t first_extent(std::span<const std::uint8_t> vma)
{
    return io::load_be32(vma.data() + 56);
}

TEST(VmaItemDigest, MatchesTheDefinitionOnASyntheticAndTheRealFixture)
{
    const auto vma = synthetic_vma();
    ASSERT_GT(vma.size(), 4U << 20);  // three extents (58 clusters each), all-zero blocks left out
    const io::Digest expected = reference_digest(vma);
    EXPECT_EQ(digest_in_pieces(vma, vma.size()), expected);
    EXPECT_NE(expected, test::sha256_of(vma));  // a digest of its own, not the plain SHA-256

    const auto fixture = test::fixture_vma();  // written by Proxmox's vma tool
    ASSERT_FALSE(fixture.empty());
    EXPECT_EQ(digest_in_pieces(fixture, 65536), reference_digest(fixture));
}

TEST(VmaItemDigest, TheSameForEverySplitOfTheStream)
{
    const auto vma = synthetic_vma();
    const io::Digest expected = reference_digest(vma);
    for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{511}, std::size_t{513},
                                    std::size_t{4095}, std::size_t{65537}, std::size_t{1} << 20}) {
        EXPECT_EQ(digest_in_pieces(vma, piece), expected) << piece;
    }
    // Pieces of varying sizes, so every boundary falls somewhere new.
    VmaItemHashingSink sink("x.vma");
    std::size_t at = 0;
    for (std::size_t n = 1; at < vma.size(); n = (n * 7 + 3) % 9001) {
        const std::size_t len = std::min(n, vma.size() - at);
        sink.write(std::span(vma).subspan(at, len));
        at += len;
    }
    sink.finish();
    EXPECT_EQ(sink.digest(), expected);
}

TEST(VmaItemDigest, ItemHashesGiveTheSameDigestAsTheBytes)
{
    // What a differential written from cluster records does: clean clusters by the
    // hash of their stored blocks only.
    const auto vma = synthetic_vma();
    VmaItemDigest items;
    const std::size_t header_size = first_extent(vma);
    items.add_item(std::span(vma).first(header_size));
    std::size_t at = header_size;
    while (at < vma.size()) {
        const auto eh = std::span(vma).subspan(at, 512);
        items.add_item(eh);
        at += 512;
        for (std::size_t slot = 0; slot < 59; ++slot) {
            const std::uint64_t info = io::load_be64(eh.data() + 40 + slot * 8);
            const auto mask = static_cast<std::uint16_t>(((info >> 32) & 0xff) == 0 ? 0 : info >> 48);
            const std::size_t stored = static_cast<std::size_t>(std::popcount(mask)) * 4096;
            if (stored != 0) {
                items.add_item_hash(test::sha256_of(std::span(vma).subspan(at, stored)));
                at += stored;
            }
        }
    }
    EXPECT_EQ(items.finish(), digest_in_pieces(vma, 100000));
}

TEST(VmaItemDigest, AnyChangedByteChangesIt)
{
    const auto vma = synthetic_vma();
    const io::Digest good = digest_in_pieces(vma, 65536);
    for (const std::size_t at : {std::size_t{100}, first_extent(vma) + 600, vma.size() - 1}) {
        auto bad = vma;
        bad[at] ^= 1;
        EXPECT_NE(digest_in_pieces(bad, 65536), good) << at;
    }
}

TEST(VmaItemDigest, RefusesWhatIsNotAVmaNamingTheStreamAndOffset)
{
    std::vector<std::uint8_t> text(100000, 'a');
    EXPECT_NE(error_of(text).find("'/dump/x.vma': offset 0:"), std::string::npos) << error_of(text);

    const auto vma = synthetic_vma();
    const std::size_t eh = first_extent(vma);
    auto cut = [&](std::size_t n) { return std::span(vma).first(n); };
    EXPECT_EQ(error_of(cut(0)), "'/dump/x.vma': offset 0: truncated vma header (0 bytes)");
    EXPECT_EQ(
        error_of(cut(eh - 1), 1000),
        fmt::format("'/dump/x.vma': offset {}: truncated vma header ({} of {} bytes)", eh - 1, eh - 1, eh));
    EXPECT_EQ(error_of(cut(eh + 100)),
              fmt::format("'/dump/x.vma': offset {}: truncated extent header (100 of 512 bytes)", eh + 100));
    EXPECT_EQ(error_of(cut(eh + 512 + 5000), 1),
              fmt::format("'/dump/x.vma': offset {}: truncated extent: the stream ends inside its blocks",
                          eh + 512 + 5000));
    // The end of the header or of an extent is a clean end.
    EXPECT_EQ(error_of(cut(eh)), "no error");

    auto magic = vma;
    magic[eh + 3] = 'X';
    EXPECT_EQ(error_of(magic), fmt::format("'/dump/x.vma': offset {}: bad extent magic", eh));

    auto count = vma;
    count[eh + 7] ^= 1;  // block count no longer what the masks list
    EXPECT_NE(error_of(count).find(fmt::format("'/dump/x.vma': offset {}: extent block count", eh + 6)),
              std::string::npos)
        << error_of(count);

    // A slot of device 0 is unused: its blocks are no item, so the count no longer fits.
    auto device0 = vma;
    std::size_t slot = 0;
    while (io::load_be64(vma.data() + eh + 40 + slot * 8) >> 48 == 0) {
        ++slot;  // the first slot with stored blocks
    }
    device0[eh + 40 + slot * 8 + 3] = 0;  // its dev_id byte (info bits 32..39)
    EXPECT_NE(error_of(device0).find(fmt::format("'/dump/x.vma': offset {}: extent block count", eh + 6)),
              std::string::npos)
        << error_of(device0);
}

TEST(VmaItemDigest, EveryTruncationOfTheFixtureEitherEndsCleanlyOrThrows)
{
    const auto fixture = test::fixture_vma();
    ASSERT_FALSE(fixture.empty());
    std::size_t clean = 0;
    for (std::size_t n = 0; n <= fixture.size(); n += 509) {
        try {
            (void)digest_in_pieces(std::span(fixture).first(n), 4096);
            ++clean;
        } catch (const io::Error& e) {
            EXPECT_NE(std::string(e.what()).find("'x.vma': offset "), std::string::npos) << e.what();
        }
    }
    EXPECT_LE(clean, 3U);  // only cuts at the header's or an extent's end can be clean
}

}  // namespace
}  // namespace pvediff::formats
