// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/content_check.h"

#include <optional>
#include <thread>

#include "pvediff/commands/content_digest.h"
#include "pvediff/commands/pipeline.h"
#include "pvediff/engine/chunk_chunker.h"
#include "pvediff/formats/layout.h"
#include "pvediff/formats/tar_verify.h"
#include "pvediff/formats/vma_verify.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/counting_stream.h"
#include "pvediff/io/error.h"
#include "pvediff/io/stream_pipe.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::commands {

namespace {

void take_problems(ContentCheck& c, const std::vector<std::string>& problems, std::uint64_t omitted)
{
    c.problems.insert(c.problems.end(), problems.begin(), problems.end());
    if (omitted != 0) {
        c.problems.push_back(fmt::format("... and {} more", omitted));
    }
}

// The header facts an administrator checks against the VM (creation time, uuid, each
// device's name and exact size) and how much of each device the archive holds:
// "vma 2021-10-31 11:43:42 UTC uuid 04fc...: structure ok, 2 extents; drive-scsi0
// 10737418240 bytes: 116/163840 clusters, 163724 MISSING".
std::string vma_summary(const formats::VmaVerifyReport& r)
{
    std::string s = "vma";
    if (r.header_ok) {
        s += " " + formats::format_utc(r.header.ctime) + " uuid " + formats::format_uuid(r.header.uuid);
    }
    s += fmt::format(": structure {}, {} extents", r.structure_ok ? "ok" : "BAD", r.extents);
    for (const auto& d : r.devices) {
        s += fmt::format("; {} {} bytes: {}/{} clusters{}", d.name, d.size, d.clusters_seen,
                         d.clusters_expected,
                         d.clusters_missing ? fmt::format(", {} MISSING", d.clusters_missing) : "");
    }
    return s;
}

}  // namespace

ContentCheck check_content(io::ByteSource& content, const OnContentBytes& on_bytes, bool hash,
                           store::ContentDigest kind)
{
    ContentCheck c;
    io::CountingSource counted(content, on_bytes);
    DigestingSource hashing(counted, kind);
    io::ByteSource& reading = hash ? static_cast<io::ByteSource&>(hashing) : counted;
    // Recognise the format from the first 512 bytes, then hand them back to the verifier.
    std::vector<std::uint8_t> head(512);
    head.resize(io::read_full(reading, head));
    const auto format = formats::detect_format(head);
    io::PrefixedSource stream(head, std::make_unique<io::SourceRef>(reading));
    switch (format) {
        case formats::ArchiveFormat::vma: {
            c.format = "vma";
            const auto r = formats::verify_vma(stream);
            c.structure_ok = r.ok;
            c.summary = vma_summary(r);
            take_problems(c, r.problems, r.problems_omitted);
            // The verifier names each device's missing clusters; say it here only when
            // its list was cut short and that line may be among the omitted ones.
            if (r.structure_ok && !r.complete && r.problems_omitted != 0) {
                c.problems.push_back(
                    fmt::format("{} clusters missing (truncated archive?)", r.clusters_missing));
            }
            break;
        }
        case formats::ArchiveFormat::tar: {
            c.format = "tar";
            const auto r = formats::verify_tar(stream);
            c.structure_ok = r.ok;
            c.summary = fmt::format("tar: {} members, {} data bytes", r.members, r.data_bytes);
            take_problems(c, r.problems, r.problems_omitted);
            break;
        }
        case formats::ArchiveFormat::unknown:
            c.format = "unknown";
            c.structure_ok = false;
            c.summary = "neither VMA nor tar";
            c.problems.push_back("content is neither a VMA nor a tar archive");
            break;
    }
    drain(stream);
    c.size = counted.count();
    if (hash) {
        hashing.finish();
        c.digest = hashing.digester().digest();
        c.digest_none = hashing.digester().why_none();
        if (kind == store::ContentDigest::sha256) {
            c.sha256 = c.digest.value_or(io::Digest{});
        }
    }
    return c;
}

ContentCheck check_archive_file(const std::filesystem::path& path, const OnContentBytes& on_bytes,
                                store::ContentDigest kind)
{
    io::DecodedInput in = io::open_decompressed(path.string());
    auto ahead = io::make_read_ahead(std::move(in.source));
    return check_content(*ahead, on_bytes, true, kind);
}

std::size_t TeeSource::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = inner_.read(buf);
    copy_.write(buf.first(n));
    return n;
}

CheckedFull check_and_index(io::DecodedInput content, const std::filesystem::path& scratch_dir,
                            io::ByteSink* copy)
{
    auto ahead = io::make_read_ahead(std::move(content.source));
    std::optional<TeeSource> copied;
    if (copy != nullptr) {
        copied.emplace(*ahead, *copy);
    }
    io::ByteSource& read = copied ? static_cast<io::ByteSource&>(*copied) : *ahead;
    io::StreamPipe pipe("checked " + ahead->name());
    ContentCheck check;
    std::string error;
    std::thread checker([&] {
        try {
            check = check_content(pipe.source());
        } catch (const std::exception& e) {
            error = e.what();
            pipe.close_reader();
        }
    });
    CheckedFull out;
    try {
        TeeSource tee(read, pipe.sink());
        out.index = engine::build_chunk_index(tee, engine::ChunkParams{}, engine::format_layout_factory(),
                                              scratch_dir);
        drain(tee);
        pipe.sink().finish();
    } catch (const std::exception& e) {
        pipe.fail(e.what());
        checker.join();
        // The checker's own error is the cause when it stopped reading first.
        throw io::Error(error.empty() ? std::string(e.what()) : error);
    }
    checker.join();
    if (!error.empty()) {
        throw io::Error(error);
    }
    out.index.set_content_size(check.size);
    out.index.set_content_sha256(check.sha256);
    out.check = std::move(check);
    return out;
}

ContentCheck check_differential(const std::filesystem::path& full, const std::filesystem::path& differential,
                                const std::filesystem::path& spill_dir, const KnownSizes& sizes,
                                const OnContentBytes& on_bytes, store::ContentDigest kind)
{
    io::StreamPipe pipe("rebuilt " + differential.filename().string());
    RebuildOutcome rebuilt;
    std::string error;
    std::thread producer([&] {
        try {
            rebuilt = rebuild_archive(full.string(), differential.string(), pipe.sink(), spill_dir,
                                      ContentHashes::both, sizes);
            pipe.sink().finish();
        } catch (const std::exception& e) {
            error = e.what();
            pipe.fail(e.what());
        }
    });
    ContentCheck c;
    try {
        c = check_content(pipe.source(), on_bytes, true, kind);
    } catch (...) {
        pipe.close_reader();
        producer.join();
        if (!error.empty()) {
            throw io::Error(error);
        }
        throw;
    }
    producer.join();
    if (!error.empty()) {
        throw io::Error(error);
    }
    c.base_size = rebuilt.base.size;
    c.base_sha256 = rebuilt.base.sha256;
    return c;
}

}  // namespace pvediff::commands
