// SPDX-License-Identifier: GPL-2.0-or-later
#include "archive_replacement.h"

#include <ctime>
#include <system_error>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/sha256.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/version.h"

namespace pvediff::commands::detail {

namespace fs = std::filesystem;

namespace {

void remove_file(const fs::path& p)
{
    io::remove_entry(p);
}

}  // namespace

store::Manifest full_manifest(const std::string& file, const ContentInfo& content)
{
    store::Manifest m;
    m.file = file;
    m.codec = content.codec;
    m.content_size = content.size;
    m.content_sha256 = content.sha256;
    m.created = std::time(nullptr);
    m.pvediff_version = pvediff::version;
    return m;
}

store::Manifest differential_manifest(const std::string& file, const ContentInfo& content,
                                      const std::string& full_name, const ContentInfo& full,
                                      const std::string& engine)
{
    store::Manifest m = full_manifest(file, content);
    store::DeltaInfo d;
    d.full_name = full_name;
    d.full_content_size = full.size;
    d.full_content_sha256 = full.sha256;
    d.engine = engine;
    m.delta = d;
    return m;
}

void check_base_identity(const fs::path& base, const ContentInfo& seen)
{
    const auto m = store::read_manifest(base);
    if (!m) {
        return;
    }
    if (const auto wrong = store::full_mismatch(base, seen.sha256, m->content_sha256, "its differentials")) {
        throw io::Error(*wrong);
    }
    if (m->content_size != seen.size) {
        throw io::file_error(
            base.string(),
            "{} bytes of content instead of {} as its manifest says: it was replaced or changed", seen.size,
            m->content_size);
    }
}

void ensure_full_manifest(const fs::path& base, const ContentInfo& content)
{
    if (!store::read_manifest(base)) {
        store::write_manifest(base, full_manifest(base.filename().string(), content));
    }
}

// The old notes file goes with the archive (remove_archive_and_sidecars). Opened the
// io::DirHandle way: a link or FIFO planted as notes is refused, never copied from.
// The copy gets the archive's mode, owner and group.
void carry_notes(const fs::path& from, const fs::path& to)
{
    const fs::path notes = from.string() + std::string(store::notes_suffix);
    auto fd = io::DirHandle::of(notes).open_regular_if_exists(notes.filename().string());
    if (!fd) {
        return;
    }
    io::FileSource in(std::move(*fd), notes.string());
    io::AtomicFile out(to.string() + std::string(store::notes_suffix), io::mode_like(from));
    io::copy_stream(in, out.sink());
    out.commit();
}

void remove_archive_and_sidecars(const fs::path& archive)
{
    for (const auto suffix :
         {store::manifest_suffix, store::index_suffix, store::notes_suffix, store::vma_clusters_suffix}) {
        remove_file(archive.string() + std::string(suffix));
    }
    remove_file(archive);
}

}  // namespace pvediff::commands::detail
