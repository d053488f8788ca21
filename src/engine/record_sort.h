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

private:
    struct Run {
        std::uint64_t offset = 0;  // in the scratch file
        std::uint64_t count = 0;
    };
    void write_run();
    // Merges runs_[first, first + n) in order, handing each record to `visit`.
    void merge_runs(std::size_t first, std::size_t n, const std::function<void(const Record&)>& visit);

    Budget budget_;
    SpillFile file_;
    std::vector<Record> pending_;
    std::vector<Run> runs_;
    std::uint64_t count_ = 0;
};

}  // namespace pvediff::engine::detail
