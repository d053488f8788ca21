// SPDX-License-Identifier: GPL-2.0-or-later
// The content digest of a manifest's kind: SHA-256 or VMA items, through the sink and
// the source, and the messages of a mismatch.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "pvediff/commands/content_digest.h"
#include "pvediff/formats/vma_item_digest.h"
#include "test_formats_helpers.h"

namespace pvediff::commands {
namespace {

std::vector<std::uint8_t> small_vma()
{
    const std::vector<test::SyntheticDevice> devs = {{"drive-scsi0", 5U << 20}};
    return test::write_vma(devs, {test::synthetic_disk(devs[0].size, 11)}, {}, 5);
}

io::Digest items_of(std::span<const std::uint8_t> vma)
{
    formats::VmaItemHashingSink sink("x");
    sink.write(vma);
    sink.finish();
    return sink.digest();
}

store::Manifest manifest_of(store::ContentDigest kind, std::uint64_t size, const io::Digest& digest)
{
    store::Manifest m;
    m.content_digest = kind;
    m.content_size = size;
    m.content_sha256 = digest;
    return m;
}

TEST(ContentDigest, SinkPassesTheBytesAndTakesTheDigestOfItsKind)
{
    const auto vma = small_vma();
    for (const auto kind : {store::ContentDigest::sha256, store::ContentDigest::vma_items}) {
        io::MemorySink out;
        DigestingSink sink(out, kind, "x.vma");
        for (std::size_t at = 0; at < vma.size(); at += 10007) {
            sink.write(std::span(vma).subspan(at, std::min<std::size_t>(10007, vma.size() - at)));
        }
        sink.finish();
        EXPECT_TRUE(out.finished());
        EXPECT_EQ(out.data(), vma);
        const ContentDigester& d = sink.digester();
        EXPECT_EQ(d.bytes(), vma.size());
        ASSERT_TRUE(d.digest());
        EXPECT_EQ(*d.digest(), kind == store::ContentDigest::sha256 ? test::sha256_of(vma) : items_of(vma));
        EXPECT_FALSE(content_digest_mismatch(manifest_of(kind, vma.size(), *d.digest()), d));
    }
}

TEST(ContentDigest, SourceDigestsWhatIsRead)
{
    const auto vma = small_vma();
    io::MemorySource in(vma, "x.vma");
    DigestingSource digesting(in, store::ContentDigest::vma_items);
    io::NullSink sink;
    io::copy_stream(digesting, sink, 4096);
    digesting.finish();
    ASSERT_TRUE(digesting.digester().digest());
    EXPECT_EQ(*digesting.digester().digest(), items_of(vma));
}

TEST(ContentDigest, MismatchesNameTheKindAndWhatDiffers)
{
    const auto vma = small_vma();
    const io::Digest items = items_of(vma);
    io::Digest other = items;
    other[0] ^= 1;
    const auto wrong_digest = content_digest_mismatch(
        manifest_of(store::ContentDigest::vma_items, vma.size(), other), vma.size(), items);
    ASSERT_TRUE(wrong_digest);
    EXPECT_EQ(*wrong_digest,
              fmt::format("content digest (VMA items) {} ({} bytes) differs from the manifest's {} "
                          "({} bytes)",
                          io::to_hex(items), vma.size(), io::to_hex(other), vma.size()));
    // The right digest with another size is a mismatch too.
    EXPECT_TRUE(content_digest_mismatch(manifest_of(store::ContentDigest::vma_items, vma.size() + 1, items),
                                        vma.size(), items));
    const auto sha = content_digest_mismatch(manifest_of(store::ContentDigest::sha256, 1, other), 1, items);
    ASSERT_TRUE(sha);
    EXPECT_TRUE(sha->starts_with("content SHA-256 ")) << *sha;
}

TEST(ContentDigest, ContentThatIsNoVmaIsAMismatchWithItsReason)
{
    const std::vector<std::uint8_t> text(70000, 'a');
    io::NullSink out;
    DigestingSink sink(out, store::ContentDigest::vma_items, "/d/x (rebuilt)");
    sink.write(text);  // no exception: the stream goes on, the digest is missing
    sink.finish();
    const ContentDigester& d = sink.digester();
    EXPECT_FALSE(d.digest());
    EXPECT_EQ(d.bytes(), text.size());
    EXPECT_NE(d.why_none().find("the content is not a VMA ('/d/x (rebuilt)': offset 0:"), std::string::npos)
        << d.why_none();
    const auto wrong = content_digest_mismatch(manifest_of(store::ContentDigest::vma_items, 70000, {}), d);
    ASSERT_TRUE(wrong);
    EXPECT_TRUE(
        wrong->starts_with("content digest (VMA items): none (70000 bytes): the content is not a VMA"))
        << *wrong;

    // A VMA cut short: its end is where the digest is missing.
    const auto vma = small_vma();
    DigestingSink cut(out, store::ContentDigest::vma_items, "cut");
    cut.write(std::span(vma).first(vma.size() - 1));
    cut.finish();
    EXPECT_FALSE(cut.digester().digest());
    EXPECT_NE(cut.digester().why_none().find(fmt::format("offset {}: truncated extent", vma.size() - 1)),
              std::string::npos)
        << cut.digester().why_none();
}

}  // namespace
}  // namespace pvediff::commands
