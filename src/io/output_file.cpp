// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/output_file.h"

#include "pvediff/io/file_stream.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::io {

OutputFile::OutputFile(const std::filesystem::path& path, Codec codec, CompressOptions compress,
                       const FileMode& mode)
{
    if (path == "-") {
        sink_ = make_compressor(stdout_sink(), codec, compress);
        return;
    }
    path_ = path;
    file_ = std::make_unique<AtomicFile>(path, mode);
    sink_ = make_write_behind(make_compressor(file_->sink(), codec, compress));
}

std::filesystem::path OutputFile::dir() const
{
    if (!file_) {
        return std::filesystem::current_path();
    }
    const auto parent = file_->final_path().parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

void OutputFile::commit(Existing existing)
{
    if (!file_) {
        return;
    }
    if (existing == Existing::replace) {
        file_->commit();
    } else {
        file_->commit_no_replace();
    }
}

}  // namespace pvediff::io
