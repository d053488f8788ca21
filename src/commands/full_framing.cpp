// SPDX-License-Identifier: GPL-2.0-or-later
#include "full_framing.h"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <optional>

#include "pvediff/commands/content_check.h"
#include "pvediff/commands/fault_point.h"
#include "pvediff/commands/progress_scope.h"
#include "pvediff/commands/report.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/error.h"
#include "pvediff/io/threaded_stream.h"

namespace pvediff::commands::detail {

namespace fs = std::filesystem;

// Passes writes on until the first failure, then drops them: the copy must never make
// the read it rides on fail. The failure is told by error().
class BestEffortSink final : public io::ByteSink {
public:
    explicit BestEffortSink(std::unique_ptr<io::ByteSink> inner) : inner_(std::move(inner)) {}
    void write(std::span<const std::uint8_t> data) override
    {
        attempt([&] { inner_->write(data); });
    }
    void finish() override
    {
        attempt([&] { inner_->finish(); });
    }
    [[nodiscard]] const std::string& name() const override { return inner_->name(); }
    [[nodiscard]] const std::string& error() const { return error_; }

private:
    template <class F>
    void attempt(F&& f)
    {
        if (!error_.empty()) {
            return;
        }
        try {
            f();
        } catch (const std::exception& e) {
            error_ = e.what();
        }
    }
    std::unique_ptr<io::ByteSink> inner_;
    std::string error_;
};

struct FullFraming::Impl {
    fs::path full;
    std::uint64_t old_size = 0;
    // Declared in this order so that they go in the reverse one: the write-behind
    // thread first, then the writer it feeds, then the two files.
    io::AtomicFile file;
    io::AtomicFile records;
    formats::VmaFramedWriter framed;
    BestEffortSink sink;

    Impl(const fs::path& f, std::uint64_t size, const io::CompressOptions& compress)
        : full(f),
          old_size(size),
          file(f, io::mode_like(f)),
          records(formats::cluster_records_path(f), io::mode_like(f)),
          framed(file.sink(), records.sink(), f.string(), compress),
          sink(io::make_write_behind(std::make_unique<io::SinkRef>(framed)))
    {
    }
};

namespace {
// The copy takes as much room as the full until it replaces it. It is written only
// where as much again stays free beside it: on a dump dir nearly full (often a share
// that vzdump on other nodes writes to at the same time) it must not take the last of
// the space, which would make their backups fail instead.
void require_room_for_copy(const fs::path& full, std::uint64_t size)
{
    const fs::path dir = fs::absolute(full).parent_path();
    struct statvfs vfs {};
    if (::statvfs(dir.c_str(), &vfs) != 0) {
        return;  // unknown: the write itself will tell
    }
    const std::uint64_t free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (free / 2 < size) {
        throw io::file_error(dir.string(),
                             "{} free: a copy of {} is written only where as much again stays free",
                             human_bytes(free), human_bytes(size));
    }
}
}  // namespace

FullFraming::FullFraming(const fs::path& full, const io::CompressOptions& compress)
{
    const std::uint64_t size = fs::file_size(full);
    require_room_for_copy(full, size);
    impl_ = std::make_unique<Impl>(full, size, compress);
}

FullFraming::~FullFraming() = default;

io::ByteSink& FullFraming::sink()
{
    return impl_->sink;
}

FullFramingOutcome FullFraming::not_started(const std::string& why)
{
    return {false, "not written in frames (" + why + "); kept as vzdump wrote it"};
}

FullFramingOutcome FullFraming::replace(const ContentInfo& content, Progress* progress,
                                        const std::string& what)
{
    Impl& d = *impl_;
    d.sink.finish();
    if (!d.sink.error().empty()) {
        return not_started(d.sink.error());
    }
    try {
        fault_point_damage("full-framed", d.file.fd());
        // The copy read back from its file: only the same content takes the full's name.
        ProgressScope reading(progress, what, content.size);
        const ContentCheck copy = check_archive_file(d.file.temp_path(), reading.updater());
        reading.finish();
        if (copy.size != content.size || copy.sha256 != content.sha256) {
            return not_started("the copy in frames read back with other content");
        }
        fault_point("before-full-framed");
        d.file.commit();
    } catch (const std::exception& e) {
        return not_started(e.what());
    }
    std::error_code ec;
    const std::uint64_t size = fs::file_size(d.full, ec);  // for the report only
    try {
        d.records.commit();
    } catch (const std::exception& e) {
        // The full is in frames, and as sound as before; only its shortcut is missing.
        return {true,
                fmt::format("written again in zstd frames, but without its cluster records ({})", e.what())};
    }
    return {true, fmt::format("written again in zstd frames with its cluster records ({} -> {})",
                              human_bytes(d.old_size), human_bytes(size))};
}

}  // namespace pvediff::commands::detail
