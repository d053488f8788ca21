// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// An external sort of (key, value) records in bounded memory: records are gathered
// into runs of a fixed count, each run sorted and written to an unnamed scratch file
// (SpillFile), and the runs merged back by key. Equal keys come out in the order they
// were added, so "the first one wins" survives the sort. What it holds in memory is
// fixed by its Budget, whatever the number of records: the index of a 1 TiB guest
// (~50 M records) costs disk, not heap.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "spill_file.h"

namespace pvediff::engine::detail {

struct Record {
    std::uint64_t key = 0;
    std::uint64_t value = 0;
};

class RecordSorter {
public:
    struct Budget {
        // Records per run: 256 Ki x 16 B = 4 MiB (x 1.5 while a run is sorted).
        std::size_t run_records = std::size_t{1} << 18;
        // Runs merged at once; more runs are first merged in groups into longer ones.
        std::size_t fan_in = 64;
        // Records read ahead per run while merging: 4 Ki x 16 B x fan_in = 4 MiB.
        std::size_t read_records = std::size_t{1} << 12;
    };

    explicit RecordSorter(std::filesystem::path scratch_dir) : RecordSorter(std::move(scratch_dir), Budget{})
    {
    }
    RecordSorter(std::filesystem::path scratch_dir, Budget budget);

    void add(std::uint64_t key, std::uint64_t value);
    [[nodiscard]] std::uint64_t count() const { return count_; }
    // Hands every record to `visit` by key, equal keys in the order added. Once: the
    // records are gone afterwards.
    void merge(const std::function<void(const Record&)>& visit);
    // The same one at a time, for a reader that takes them as it goes (the proof's
    // ranges, hashed as the full's stream passes): the next record by key, false after
    // the last. No add() once it was called.
    bool next(Record& out);

    // Moved only before the merge began (the merge reads the sorter's own file).
    RecordSorter(RecordSorter&&) noexcept;
    ~RecordSorter();

private:
    struct Run {
        std::uint64_t offset = 0;  // in the scratch file
        std::uint64_t count = 0;
    };
    class RunReader;  // one run read back (record_sort.cpp)
    class Merger;     // runs merged by key (record_sort.cpp)
    void write_run();
    // Sorts what is in memory, or leaves at most fan_in runs in the file and starts
    // merging them (merger_).
    void start_merge();

    Budget budget_;
    SpillFile file_;
    std::vector<Record> pending_;
    std::vector<Run> runs_;
    std::uint64_t count_ = 0;
    bool merging_ = false;
    std::size_t next_pending_ = 0;  // all in memory: the next of pending_ to hand out
    std::unique_ptr<Merger> merger_;
};

}  // namespace pvediff::engine::detail
