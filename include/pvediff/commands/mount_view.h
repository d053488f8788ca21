// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What `pvediff mount` shows for a dump dir: a pure function of one scan (dump_dir.h),
// kept apart from the FUSE glue so that every naming rule is unit-tested.
//
// - every full appears under its own name, passed through byte for byte (PVE
//   decompresses it itself);
// - every differential whose full is present appears as the UNCOMPRESSED archive it
//   stands for, under the vzdump name of the backup it replaced with `.vma` / `.tar`
//   (e.g. vzdump-qemu-101-2026_11_21-01_00_00.vma), its content size as size and the
//   backup's time as mtime;
// - where a real archive and a differential stand for the same backup (same guest,
//   time and format), the real archive wins;
// - beside each shown archive: `<archive>.notes`, `<archive>.protected` (names PVE
//   looks for) mapped to the backup's own sidecars, and `<base name>.log` (PVE's log
//   name: the archive name without extensions) mapped to vzdump's log of that run.
//
// Orphan differentials (full gone) are not shown: nothing could read them.
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pvediff/store/dump_dir.h"

namespace pvediff::commands {

enum class ViewKind {
    full,          // a real archive, passed through
    differential,  // rebuilt on read from `full_file` and `source`
    notes,         // sidecars: pass-through to `source` in the dump dir
    log,
    protected_marker,
};

struct ViewEntry {
    std::string name;  // as shown in the view
    ViewKind kind = ViewKind::full;
    std::string source;      // file in the dump dir (full, differential or sidecar)
    std::string full_file;   // differential: the full it is rebuilt from
    std::uint64_t size = 0;  // full/differential: the archive's size; sidecars: 0 (stat'ed on use)
    std::time_t mtime = 0;
    std::string archive;  // sidecars: the shown archive they belong to
};

// What the view needs to know about a differential that its name does not say: the
// size of the archive it stands for (manifest content-size, or the sum of its VCDIFF
// target windows). nullopt: unknown or unreadable, the differential is not shown.
using DifferentialSize = std::function<std::optional<std::uint64_t>(const store::DifferentialBackup&)>;

struct View {
    std::map<std::string, ViewEntry, std::less<>> entries;  // by shown name

    [[nodiscard]] const ViewEntry* find(std::string_view name) const;
};

View build_view(const store::DumpDir& dir, const DifferentialSize& differential_size);

// The shown name of the uncompressed archive a differential stands for.
std::string shown_differential_name(const store::DifferentialName& diff);

// Where a write through the view lands. PVE's GUI writes notes as
// `<archive>.notes.tmp.<pid>` renamed over `<archive>.notes`, and creates or removes
// `<archive>.protected`. Maps such a shown name to the file in the dump dir, or
// nullopt for anything else (the caller answers EROFS).
struct SidecarTarget {
    std::string dump_dir_name;  // e.g. "<differential file>.notes.tmp.4711"
    ViewKind kind = ViewKind::notes;
    bool temporary = false;  // a notes temporary file
};
std::optional<SidecarTarget> writable_sidecar(const View& view, std::string_view shown_name);

}  // namespace pvediff::commands
