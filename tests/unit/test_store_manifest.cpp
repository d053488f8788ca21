// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include "pvediff/io/error.h"
#include "pvediff/store/manifest.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;

namespace {

Manifest sample_differential()
{
    Manifest m;
    m.file = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_22-01_00_00.vcdiff.zst";
    m.codec = io::Codec::zstd;
    m.content_size = 123456789012ULL;
    m.content_sha256.fill(0xab);
    DeltaInfo d;
    d.full_name = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
    d.full_content_size = 123456789000ULL;
    d.full_content_sha256.fill(0x01);
    d.engine = "chunk-v1";
    d.copied_bytes = 100;
    d.literal_bytes = 12;
    d.windows = 3;
    d.delta_bytes = 77;
    m.delta = d;
    m.created = 1795136405;
    m.pvediff_version = "0.1.0";
    return m;
}

std::string manifest_error(std::string_view text)
{
    try {
        (void)parse_manifest(text, "/d/x.pvediff-manifest");
    } catch (const io::Error& e) {
        return e.what();
    }
    return "no error";
}

TEST(StoreManifest, RoundTripsFullAndDifferential)
{
    const Manifest d = sample_differential();
    const std::string text = format_manifest(d);
    EXPECT_NE(text.find("format-version: 1\nkind: differential\n"), std::string::npos) << text;
    EXPECT_NE(text.find("created: 2026-11-20T01:00:05Z\n"), std::string::npos) << text;
    EXPECT_EQ(parse_manifest(text, "x"), d);

    Manifest f;
    f.file = "vzdump-lxc-200-2026_11_20-01_00_00.tar.gz";
    f.codec = io::Codec::gzip;
    f.content_size = 0;
    f.created = 0;
    f.pvediff_version = "0.1.0";
    EXPECT_EQ(parse_manifest(format_manifest(f), "x"), f);
}

TEST(StoreManifest, KeepsUnknownKeysAndAcceptsComments)
{
    std::string text = format_manifest(sample_differential());
    text =
        "format-version: 1\n# a comment\n\n" + text.substr(text.find('\n') + 1) + "future-key: some value\n";
    const Manifest m = parse_manifest(text, "x");
    ASSERT_EQ(m.unknown.size(), 1U);
    EXPECT_EQ(m.unknown[0].first, "future-key");
    EXPECT_EQ(m.unknown[0].second, "some value");
    EXPECT_NE(format_manifest(m).find("future-key: some value\n"), std::string::npos);
}

TEST(StoreManifest, ErrorsNameTheFileAndLine)
{
    const std::string good = format_manifest(sample_differential());
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string t = good;
        t.replace(t.find(from), from.size(), to);
        return t;
    };
    EXPECT_EQ(manifest_error(replace("content-size: 123456789012", "content-size: 12x")),
              "'/d/x.pvediff-manifest': line 5: bad content-size '12x' (expected a whole number)");
    EXPECT_EQ(
        manifest_error(replace("format-version: 1", "format-version: 2")),
        "'/d/x.pvediff-manifest': line 1: unsupported manifest format-version '2' (this pvediff reads 1)");
    EXPECT_EQ(manifest_error(replace("kind: differential", "kind: partial")),
              "'/d/x.pvediff-manifest': line 2: bad kind 'partial' (expected full or differential)");
    EXPECT_EQ(manifest_error(replace("codec: zstd", "codec: xz")),
              "'/d/x.pvediff-manifest': line 4: bad codec 'xz' (expected none, zstd, lzo or gzip)");
    EXPECT_NE(manifest_error(replace("content-sha256: ab", "content-sha256: zz"))
                  .find("line 6: bad content-sha256"),
              std::string::npos);
    EXPECT_EQ(manifest_error(replace("engine: chunk-v1\n", "")),
              "'/d/x.pvediff-manifest': missing key 'engine'");
    EXPECT_EQ(manifest_error(good + "windows: 4\n"),
              "'/d/x.pvediff-manifest': line 17: duplicate key 'windows'");
    EXPECT_EQ(manifest_error(replace("windows: 3", "windows 3")),
              "'/d/x.pvediff-manifest': line 13: expected 'key: value'");
    EXPECT_EQ(manifest_error("kind: full\n"),
              "'/d/x.pvediff-manifest': line 1: expected 'format-version' first, found 'kind'");
    EXPECT_EQ(manifest_error(""), "'/d/x.pvediff-manifest': empty manifest");
    EXPECT_NE(
        manifest_error(replace("created: 2026-11-20T01:00:05Z", "created: yesterday")).find("bad created"),
        std::string::npos);
    // A full's manifest must not carry a differential's keys.
    EXPECT_NE(
        manifest_error(replace("kind: differential", "kind: full")).find("belongs only in a differential"),
        std::string::npos);
}

TEST(StoreManifest, VmaItemDigestRoundTripsInPlaceOfContentSha256)
{
    Manifest m = sample_differential();
    m.content_digest = ContentDigest::vma_items;
    m.content_sha256.fill(0xcd);
    const std::string text = format_manifest(m);
    EXPECT_NE(text.find("\ncontent-vma-items-sha256: cdcdcd"), std::string::npos) << text;
    EXPECT_EQ(text.find("\ncontent-sha256:"), std::string::npos) << text;
    const Manifest back = parse_manifest(text, "x");
    EXPECT_EQ(back.content_digest, ContentDigest::vma_items);
    EXPECT_EQ(back, m);
    EXPECT_TRUE(back.unknown.empty());
    EXPECT_EQ(parse_manifest(format_manifest(sample_differential()), "x").content_digest,
              ContentDigest::sha256);
    EXPECT_EQ(content_digest_name(ContentDigest::vma_items), "vma-items");
    EXPECT_EQ(content_digest_name(ContentDigest::sha256), "sha256");
}

TEST(StoreManifest, RefusesBothOrNeitherContentDigest)
{
    const std::string good = format_manifest(sample_differential());
    const std::string line = "content-sha256: " + io::to_hex(sample_differential().content_sha256) + "\n";
    ASSERT_NE(good.find(line), std::string::npos);
    std::string neither = good;
    neither.erase(neither.find(line), line.size());
    EXPECT_EQ(manifest_error(neither),
              "'/d/x.pvediff-manifest': missing key 'content-sha256' (or 'content-vma-items-sha256')");
    const std::string both = good + "content-vma-items-sha256: " + std::string(64, 'e') + "\n";
    EXPECT_EQ(manifest_error(both),
              "'/d/x.pvediff-manifest': line 17: 'content-sha256' and "
              "'content-vma-items-sha256' both given (expected one content digest)");
    std::string bad = good;
    bad.replace(bad.find(line), line.size(), "content-vma-items-sha256: xyz\n");
    EXPECT_EQ(manifest_error(bad),
              "'/d/x.pvediff-manifest': line 6: bad content-vma-items-sha256 'xyz' "
              "(expected 64 hex digits)");
}

TEST(StoreManifest, RefusesVmaItemDigestOnAFullOrATar)
{
    const std::string key = "content-vma-items-sha256: " + std::string(64, 'e') + "\n";
    auto with_items = [&](const Manifest& m) {
        std::string t = format_manifest(m);
        const auto at = t.find("content-sha256: ");
        t.replace(at, t.find('\n', at) + 1 - at, key);
        return t;
    };
    Manifest full;
    full.file = "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
    full.codec = io::Codec::zstd;
    full.pvediff_version = "0.1.0";
    EXPECT_EQ(manifest_error(with_items(full)),
              "'/d/x.pvediff-manifest': line 6: 'content-vma-items-sha256' belongs "
              "only in the manifest of a differential of a VMA");
    Manifest tar = sample_differential();
    tar.file = "vzdump-lxc-200-2026_11_20-01_00_00.tar.zst--differential-2026_11_22-01_00_00.vcdiff.zst";
    tar.delta->full_name = "vzdump-lxc-200-2026_11_20-01_00_00.tar.zst";
    EXPECT_NE(manifest_error(with_items(tar)).find("belongs only in the manifest of a differential of a VMA"),
              std::string::npos);
    // The writer refuses what the reader would refuse.
    for (Manifest m : {full, tar}) {
        m.content_digest = ContentDigest::vma_items;
        EXPECT_THROW((void)format_manifest(m), io::Error);
    }
}

TEST(StoreManifest, EveryTruncationParsesOrFailsCleanly)
{
    const std::string good = format_manifest(sample_differential());
    for (std::size_t n = 0; n < good.size(); ++n) {
        try {
            const Manifest m = parse_manifest(good.substr(0, n), "x");
            // Only a cut inside the last value can still parse; it must then differ
            // (the last newline alone is optional).
            if (n + 1 < good.size()) {
                EXPECT_NE(m, sample_differential()) << n;
            }
        } catch (const io::Error&) {
        }
    }
}

TEST(StoreManifest, WritesAtomicallyAndReadsBack)
{
    test::TempDir dir;
    const Manifest m = sample_differential();
    const auto file = dir / m.file;
    EXPECT_FALSE(read_manifest(file));
    write_manifest(file, m);
    EXPECT_EQ(manifest_path_for(file).filename().string(), m.file + ".pvediff-manifest");
    EXPECT_TRUE(std::filesystem::exists(manifest_path_for(file)));
    const auto back = read_manifest(file);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, m);
    // Only the manifest: no temporary file left behind.
    EXPECT_EQ(
        std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()),
        1);

    // A manifest that describes another file is an error, and so is writing one.
    const auto other = dir / "vzdump-qemu-101-2026_11_20-01_00_00.vma.zst";
    std::filesystem::copy_file(manifest_path_for(file), manifest_path_for(other));
    EXPECT_THROW((void)read_manifest(other), io::Error);
    EXPECT_THROW(write_manifest(other, m), io::Error);

    test::touch(manifest_path_for(other), std::string(manifest_max_size + 1, 'x'));
    try {
        (void)read_manifest(other);
        FAIL();
    } catch (const io::Error& e) {
        EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
    }
}

}  // namespace
