// SPDX-License-Identifier: GPL-2.0-or-later
// Name parsing (src/store/names.cpp, entry_name.cpp, backup_time.cpp, duration.cpp)
// on arbitrary strings. Strict parsing means every name that parses formats back to
// exactly itself (names.h), and classify_entry_name() agrees with the parsers.
#include "fuzz_util.h"
#include "pvediff/store/backup_time.h"
#include "pvediff/store/duration.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/names.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    using namespace pvediff::store;
    const std::string_view name = fuzz::text(data, size);

    if (const auto t = parse_backup_time(name)) {
        FUZZ_CHECK(format_backup_time(*t) == name);
        FUZZ_CHECK(make_backup_time(t->year, t->month, t->day, t->hour, t->minute, t->second) == *t);
        (void)display_time(*t);
    }
    const auto full = parse_backup_name(name);
    if (full) {
        FUZZ_CHECK(format_backup_name(*full) == name);
        (void)backup_base_name(full->type, full->vmid, full->time);
    }
    const auto diff = parse_differential_name(name);
    if (diff) {
        FUZZ_CHECK(format_differential_name(*diff) == name);
        const auto inner = parse_backup_name(diff->full_file);
        FUZZ_CHECK(inner && *inner == diff->full);
        FUZZ_CHECK(diff->codec != ArchiveCodec::bzip2);
        const DifferentialName again = make_differential_name(diff->full, diff->time, diff->codec);
        FUZZ_CHECK(format_differential_name(again) == name);
        const BackupName restored = restored_backup_name(*diff);
        FUZZ_CHECK(parse_backup_name(format_backup_name(restored)) == restored);
    }
    FUZZ_CHECK(!(full && diff));

    for (const bool is_directory : {false, true}) {
        const EntryName e = classify_entry_name(name, is_directory);
        (void)entry_kind_name(e.kind);
        if (e.kind == EntryKind::full) {
            FUZZ_CHECK(full && e.full == full && !is_directory);
            FUZZ_CHECK(e.guest && e.guest->type == full->type && e.guest->vmid == full->vmid);
        } else if (e.kind == EntryKind::differential) {
            FUZZ_CHECK(diff && e.differential == diff && !is_directory);
        } else if (!name.ends_with(".dat") && !name.ends_with(".tmp") && !is_directory) {
            FUZZ_CHECK(!full && !diff);  // a backup name is never mistaken for anything else
        }
        if (e.kind == EntryKind::lock && e.guest) {
            FUZZ_CHECK(lock_file_name(e.guest->type, e.guest->vmid) == name);
        }
    }

    const auto d = parse_duration(name, std::chrono::hours(24));
    if (d) {
        FUZZ_CHECK(d->count() >= 0);
        FUZZ_CHECK(parse_duration(format_duration(*d), std::chrono::hours(24)) == d);
    }
    (void)parse_guest_type(name);
    (void)io::parse_codec(name);
    return 0;
}
