// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/verify.h"

#include <algorithm>

#include "pvediff/commands/content_check.h"
#include "pvediff/io/error.h"
#include "pvediff/store/dump_dir.h"
#include "pvediff/store/manifest.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

void take_structure(VerifyItem& item, const ContentCheck& c)
{
    item.content_size = c.size;
    item.structure = c.summary;
    if (!c.structure_ok) {
        item.ok = false;
    }
    item.problems.insert(item.problems.end(), c.problems.begin(), c.problems.end());
}

void compare_content(VerifyItem& item, const std::optional<store::Manifest>& m, const ContentCheck& c)
{
    if (!m) {
        item.content = "no manifest";
        return;
    }
    if (m->content_sha256 == c.sha256 && m->content_size == c.size) {
        item.content = "ok";
        return;
    }
    item.content = "MISMATCH";
    item.ok = false;
    item.problems.push_back("content SHA-256 " + io::to_hex(c.sha256) + " (" + std::to_string(c.size) +
                            " bytes) differs from the manifest's " + io::to_hex(m->content_sha256) + " (" +
                            std::to_string(m->content_size) + " bytes)");
}

VerifyItem verify_full(const fs::path& path, const Report& progress)
{
    VerifyItem item{path.filename().string(), "full", 0, 0, "-", "-", true, {}, path.parent_path().string()};
    progress("verifying " + item.file);
    try {
        item.file_size = fs::file_size(path);
        const ContentCheck c = check_archive_file(path);
        take_structure(item, c);
        compare_content(item, store::read_manifest(path), c);
    } catch (const std::exception& e) {
        item.ok = false;
        item.problems.push_back(e.what());
    }
    return item;
}

VerifyItem verify_differential(const fs::path& path, const Report& progress)
{
    VerifyItem item{path.filename().string(), "differential", 0, 0, "-", "-", true, {}, path.parent_path().string()};
    progress("verifying " + item.file);
    try {
        item.file_size = fs::file_size(path);
        const auto name = store::parse_differential_name(item.file);
        const fs::path full = path.parent_path() / name->full_file;
        if (!fs::exists(full)) {
            throw io::Error("its full '" + name->full_file + "' is missing: this differential cannot be restored");
        }
        const auto manifest = store::read_manifest(path);
        // A full replaced by another archive of the same name (with its own manifest)
        // would only show as "window checksum mismatch": say what it is, without decoding.
        if (manifest && manifest->delta) {
            if (const auto full_manifest = store::read_manifest(full)) {
                if (const auto wrong = store::full_mismatch(name->full_file, full_manifest->content_sha256,
                                                            manifest->delta->full_content_sha256, "it")) {
                    throw io::Error(*wrong);
                }
            }
        }
        const ContentCheck c = check_differential(full, path, path.parent_path(), manifest_sizes(full, manifest));
        take_structure(item, c);
        compare_content(item, manifest, c);
        if (manifest && manifest->delta) {
            if (const auto wrong = store::full_mismatch(name->full_file, c.base_sha256,
                                                        manifest->delta->full_content_sha256, "it")) {
                item.ok = false;
                item.problems.push_back(*wrong);
            }
        }
        if (!manifest) {
            item.content = "no manifest (window checksums ok)";
        }
    } catch (const std::exception& e) {
        item.ok = false;
        item.problems.push_back(e.what());
    }
    return item;
}

// verify takes no lock: a backup that prune (or a backup replacing its archive)
// removed while we read it is gone, not damaged, and is left out of the report.
void add_unless_removed(VerifyReport& report, VerifyItem item, const fs::path& path, const Report& progress)
{
    std::error_code ec;
    if (!item.ok && !fs::exists(path, ec) && !ec) {
        progress(item.file + ": removed while being verified (by another process), skipped");
        return;
    }
    report.items.push_back(std::move(item));
}

void verify_dir(const fs::path& dir, VerifyReport& report, const Report& progress)
{
    const store::DumpDir scanned = store::scan_dump_dir(dir);
    for (const auto& guest : scanned.guests) {
        for (const auto& chain : guest.chains) {
            if (!store::to_io_codec(chain.full.name.codec)) {
                continue;  // bzip2: not pvediff's
            }
            add_unless_removed(report, verify_full(dir / chain.full.file, progress), dir / chain.full.file,
                               progress);
            for (const auto& d : chain.differentials) {
                add_unless_removed(report, verify_differential(dir / d.file, progress), dir / d.file,
                                   progress);
            }
        }
        for (const auto& d : guest.orphan_differentials) {
            VerifyItem item{d.file, "differential", d.size, 0, "-", "-", false, {}, dir.string()};
            item.problems.push_back("orphan: its full '" + d.name.full_file + "' is missing");
            report.items.push_back(item);
        }
    }
}

}  // namespace

bool VerifyReport::ok() const
{
    return std::all_of(items.begin(), items.end(), [](const VerifyItem& i) { return i.ok; });
}

VerifyReport verify_paths(const std::vector<fs::path>& paths, const Report& progress)
{
    VerifyReport report;
    for (const auto& p : paths) {
        if (fs::is_directory(p)) {
            verify_dir(fs::absolute(p), report, progress);
            continue;
        }
        const std::string name = p.filename().string();
        if (store::parse_differential_name(name)) {
            report.items.push_back(verify_differential(fs::absolute(p), progress));
        } else if (store::parse_backup_name(name) || fs::is_regular_file(p)) {
            report.items.push_back(verify_full(fs::absolute(p), progress));
        } else {
            VerifyItem item{p.string(), "?", 0, 0, "-", "-", false, {"no such file or directory"}, {}};
            report.items.push_back(item);
        }
    }
    return report;
}

}  // namespace pvediff::commands
