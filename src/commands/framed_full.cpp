// SPDX-License-Identifier: GPL-2.0-or-later
#include "framed_full.h"

#include <sys/stat.h>

#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands::detail {

namespace fs = std::filesystem;

std::optional<engine::FramedSource> framed_full(const fs::path& full)
{
    const fs::path records_path = formats::cluster_records_path(full);
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(records_path, ec))) {
        return std::nullopt;
    }
    try {
        const std::optional<store::Manifest> manifest = store::read_manifest(full);
        if (!manifest || manifest->is_differential()) {
            return std::nullopt;
        }
        formats::FullRecordsReader records(records_path);
        engine::FramedSource framed;
        framed.frames.push_back(
            {0, records.vma_header().size(), records.header_frame_offset(), records.header_frame_size()});
        while (const auto extent = records.next()) {
            framed.frames.push_back(
                {extent->offset, extent->length(), extent->frame_offset, extent->frame_size});
        }
        const formats::RecordsTrailer trailer = records.finish();
        struct stat st {};
        if (trailer.content_size != manifest->content_size ||
            trailer.content_sha256 != manifest->content_sha256 ||
            ::fstat(io::open_regular_file(full).get(), &st) != 0 ||
            trailer.file_size != static_cast<std::uint64_t>(st.st_size)) {
            return std::nullopt;
        }
        framed.open = [full] {
            return std::make_unique<io::ZstdFrameReader>(io::open_regular_file(full), full.string());
        };
        return framed;
    } catch (const io::Error&) {
        return std::nullopt;  // damaged or foreign records: the full is read forward
    } catch (const fs::filesystem_error&) {
        return std::nullopt;
    }
}

}  // namespace pvediff::commands::detail
