// SPDX-License-Identifier: GPL-2.0-or-later
#include "interrupted_runs.h"

#include <exception>
#include <filesystem>

#include "archive_replacement.h"
#include "pvediff/commands/pipeline.h"
#include "pvediff/commands/scratch_dir.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/fd.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands::detail {

namespace fs = std::filesystem;

namespace {

// Finishes the run that was interrupted after committing `diff` but before deleting
// `archive`, the archive it replaces: only if `diff`, decoded again, has exactly
// the archive's content (rule 1). true: the archive is gone. Never throws: a failure
// here leaves both files and is reported, the caller's own backup goes on.
bool finish_conversion(const fs::path& dir, const store::FullBackup& base,
                       const store::DifferentialBackup& diff, const store::FullBackup& archive,
                       const store::EffectiveSettings& settings, const Report& report)
{
    const fs::path archive_path = dir / archive.file;
    const fs::path diff_path = dir / diff.file;
    const fs::path base_path = dir / base.file;
    report(archive.file + ": " + diff.file +
           " stands for the same backup (left by an interrupted run): checking it");
    try {
        const ContentInfo content = hash_content(archive_path.string());
        io::NullSink discard;
        const RebuildOutcome rebuilt = rebuild_archive(base_path.string(), diff_path.string(), discard,
                                                       scratch_dir(settings.tmpdir, dir), ContentHashes::both,
                                                       KnownSizes{content.size, std::nullopt});
        if (rebuilt.target.sha256 != content.sha256 || rebuilt.target.size != content.size) {
            report("warning: " + diff.file + " does not decode to the content of " + archive.file +
                   ": both are kept, check them (pvediff verify)");
            return false;
        }
        check_base_identity(base_path, rebuilt.base);
        if (!store::read_manifest(diff_path)) {
            const io::Codec codec = store::to_io_codec(diff.name.codec).value_or(io::Codec::none);
            store::Manifest m =
                differential_manifest(diff.file, ContentInfo{content.size, content.sha256, codec}, base.file,
                                      rebuilt.base, settings.engine);
            m.delta->windows = rebuilt.decode.windows;
            store::write_manifest(diff_path, m);
        }
        if (!diff.sidecars.notes) {
            carry_notes(archive_path, diff_path);
        }
        ensure_full_manifest(base_path, rebuilt.base);
        remove_archive_and_sidecars(archive_path);
        io::fsync_dir(dir.string());
        report(archive.file + ": replaced by " + diff.file +
               ", content verified (finished the interrupted run)");
        return true;
    } catch (const std::exception& e) {
        report(std::string("warning: cannot finish replacing ") + archive.file + " by " + diff.file + ": " +
               e.what() + "; both are kept");
        return false;
    }
}

}  // namespace

// The archive of such a run is a full by name with no differentials of its own; its
// differential, in another chain, has the same time.
std::vector<FinishedRun> finish_interrupted_runs(const store::DumpDir& scanned, store::GuestType type,
                                                 std::uint32_t vmid, const store::EffectiveSettings& settings,
                                                 const Report& report)
{
    std::vector<FinishedRun> finished;
    const store::GuestBackups* guest = scanned.find({type, vmid});
    if (guest == nullptr) {
        return finished;
    }
    for (const store::Chain& chain : guest->chains) {
        const store::FullBackup& archive = chain.full;
        if (!chain.differentials.empty() || archive.sidecars.is_protected() ||
            archive.sidecars.is_restored_copy()) {
            continue;  // a base, never converted, or a restored copy: not an archive left behind
        }
        bool done = false;
        for (const store::Chain& other : guest->chains) {
            for (const store::DifferentialBackup& diff : other.differentials) {
                if (!done && &other != &chain && diff.name.time == archive.name.time &&
                    finish_conversion(scanned.path, other.full, diff, archive, settings, report)) {
                    done = true;
                    finished.push_back({archive.file, diff.file});
                }
            }
        }
    }
    return finished;
}

}  // namespace pvediff::commands::detail
