// SPDX-License-Identifier: GPL-2.0-or-later
#include "framed_full.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands::detail {

namespace fs = std::filesystem;

std::string full_records_refusal(const fs::path& full,
                                 const std::function<void(formats::FullRecordsReader&)>& read)
{
    const fs::path records_path = formats::cluster_records_path(full);
    const std::string name = full.filename().string();
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(records_path, ec))) {
        return fmt::format("the full {} has no cluster records (not written in frames)", name);
    }
    try {
        formats::FullRecordsReader records(records_path);  // refuses a symbolic link
        if (read) {
            read(records);
        }
        while (records.next()) {
        }
        const formats::RecordsTrailer trailer = records.finish();
        const std::optional<store::Manifest> manifest = store::read_manifest(full);
        if (!manifest || manifest->is_differential() || manifest->content_size != trailer.content_size ||
            manifest->content_sha256 != trailer.content_sha256) {
            return fmt::format("the cluster records of {} are not of its content (its manifest)", name);
        }
        struct stat st {};
        if (::fstat(io::open_regular_file(full).get(), &st) != 0 ||
            trailer.file_size != static_cast<std::uint64_t>(st.st_size)) {
            return fmt::format("the cluster records of {} are of a file of {} bytes, not of it", name,
                               trailer.file_size);
        }
    } catch (const io::Error& e) {
        return fmt::format("the cluster records of {} are damaged ({})", name, e.what());
    } catch (const fs::filesystem_error& e) {
        return fmt::format("the cluster records of {} are damaged ({})", name, e.what());
    }
    return {};
}

std::optional<engine::FramedSource> framed_full(const fs::path& full)
{
    engine::FramedSource framed;
    const std::string refused = full_records_refusal(full, [&framed](formats::FullRecordsReader& records) {
        framed.frames.push_back(
            {0, records.vma_header().size(), records.header_frame_offset(), records.header_frame_size()});
        while (const auto extent = records.next()) {
            framed.frames.push_back(
                {extent->offset, extent->length(), extent->frame_offset, extent->frame_size});
        }
    });
    if (!refused.empty()) {
        return std::nullopt;  // the full is read forward
    }
    framed.open = [full] {
        return std::make_unique<io::ZstdFrameReader>(io::open_regular_file(full), full.string());
    };
    return framed;
}

}  // namespace pvediff::commands::detail
