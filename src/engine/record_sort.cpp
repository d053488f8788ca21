// SPDX-License-Identifier: GPL-2.0-or-later
#include "record_sort.h"

#include <algorithm>
#include <queue>

#include "pvediff/io/bytes.h"
#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

namespace {

constexpr std::size_t record_size = 16;

void put(std::vector<std::uint8_t>& out, const Record& r)
{
    io::append_le64(out, r.key);
    io::append_le64(out, r.value);
}

}  // namespace

// One run being merged: a window of its records read ahead from the scratch file.
class RecordSorter::RunReader {
public:
    RunReader(const SpillFile& file, std::uint64_t offset, std::uint64_t count, std::size_t read_records)
        : file_(file), next_(offset), left_(count), buf_(read_records * record_size)
    {
    }
    // The record under the cursor, or false at the end of the run.
    bool fill()
    {
        if (at_ < have_) {
            return true;
        }
        if (left_ == 0) {
            return false;
        }
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, buf_.size() / record_size));
        file_.read(next_, std::span<std::uint8_t>(buf_.data(), n * record_size));
        next_ += n * record_size;
        left_ -= n;
        at_ = 0;
        have_ = n;
        return true;
    }
    [[nodiscard]] Record current() const
    {
        const std::uint8_t* p = buf_.data() + at_ * record_size;
        return {io::load_le64(p), io::load_le64(p + 8)};
    }
    void advance() { ++at_; }

private:
    const SpillFile& file_;
    std::uint64_t next_;
    std::uint64_t left_;
    std::vector<std::uint8_t> buf_;
    std::size_t at_ = 0;
    std::size_t have_ = 0;
};

RecordSorter::RecordSorter(std::filesystem::path scratch_dir, Budget budget)
    : budget_(budget), file_(std::move(scratch_dir))
{
    if (budget_.run_records == 0 || budget_.fan_in < 2 || budget_.read_records == 0) {
        throw io::Error("record sorter: empty budget");
    }
}

void RecordSorter::add(std::uint64_t key, std::uint64_t value)
{
    if (merging_) {
        throw io::Error("record sorter: add() after the merge began");
    }
    // Grown as needed, not reserved: a small full's index costs a small run.
    pending_.push_back({key, value});
    ++count_;
    if (pending_.size() == budget_.run_records) {
        write_run();
    }
}

void RecordSorter::write_run()
{
    if (pending_.empty()) {
        return;
    }
    // Stable: equal keys keep the order they were added in.
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const Record& a, const Record& b) { return a.key < b.key; });
    std::vector<std::uint8_t> bytes;
    bytes.reserve(std::min(pending_.size(), budget_.read_records) * record_size);
    Run run{file_.size(), pending_.size()};
    for (const Record& r : pending_) {
        put(bytes, r);
        if (bytes.size() >= budget_.read_records * record_size) {
            file_.append(bytes);
            bytes.clear();
        }
    }
    file_.append(bytes);
    runs_.push_back(run);
    pending_.clear();
}

// Runs of the file merged by key; on equal keys the earlier run, whose records were
// added first.
class RecordSorter::Merger {
public:
    Merger(const SpillFile& file, const std::vector<Run>& runs, std::size_t first, std::size_t n,
           std::size_t read_records)
    {
        readers_.reserve(n);
        for (std::size_t i = first; i < first + n; ++i) {
            readers_.emplace_back(file, runs[i].offset, runs[i].count, read_records);
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (readers_[i].fill()) {
                heads_.emplace(readers_[i].current().key, i);
            }
        }
    }
    bool next(Record& out)
    {
        if (heads_.empty()) {
            return false;
        }
        const std::size_t i = heads_.top().second;
        heads_.pop();
        out = readers_[i].current();
        readers_[i].advance();
        if (readers_[i].fill()) {
            heads_.emplace(readers_[i].current().key, i);
        }
        return true;
    }

private:
    std::vector<RunReader> readers_;
    using Head = std::pair<std::uint64_t, std::size_t>;
    std::priority_queue<Head, std::vector<Head>, std::greater<>> heads_;
};

RecordSorter::RecordSorter(RecordSorter&&) noexcept = default;
RecordSorter::~RecordSorter() = default;

void RecordSorter::start_merge()
{
    merging_ = true;
    if (runs_.empty()) {
        // Everything fits one run: no scratch file at all.
        std::stable_sort(pending_.begin(), pending_.end(),
                         [](const Record& a, const Record& b) { return a.key < b.key; });
        return;
    }
    write_run();
    pending_ = {};
    // Too many runs for one merge: a pass merges each group of fan_in consecutive runs
    // into one, so that the runs stay in the order their records were added.
    while (runs_.size() > budget_.fan_in) {
        std::vector<Run> longer;
        for (std::size_t first = 0; first < runs_.size(); first += budget_.fan_in) {
            const std::size_t n = std::min(budget_.fan_in, runs_.size() - first);
            Run merged{file_.size(), 0};
            std::vector<std::uint8_t> bytes;
            Merger group(file_, runs_, first, n, budget_.read_records);
            for (Record r; group.next(r);) {
                put(bytes, r);
                ++merged.count;
                if (bytes.size() >= budget_.read_records * record_size) {
                    file_.append(bytes);
                    bytes.clear();
                }
            }
            file_.append(bytes);
            longer.push_back(merged);
        }
        runs_ = std::move(longer);
    }
    merger_ = std::make_unique<Merger>(file_, runs_, 0, runs_.size(), budget_.read_records);
}

bool RecordSorter::next(Record& out)
{
    if (!merging_) {
        start_merge();
    }
    if (merger_) {
        if (merger_->next(out)) {
            return true;
        }
        merger_.reset();
        runs_.clear();
        file_.clear();
        return false;
    }
    if (next_pending_ < pending_.size()) {
        out = pending_[next_pending_++];
        return true;
    }
    pending_ = {};
    return false;
}

void RecordSorter::merge(const std::function<void(const Record&)>& visit)
{
    for (Record r; next(r);) {
        visit(r);
    }
}

}  // namespace pvediff::engine::detail
