// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/mount_stream.h"

#include <algorithm>
#include <cstring>

#include "pvediff/io/error.h"

namespace pvediff::commands {

// The producer's end: cuts writes into pieces and hands them to the window.
class StreamedArchive::WindowSink final : public io::ByteSink {
public:
    WindowSink(StreamedArchive& owner, std::uint64_t generation) : owner_(owner), generation_(generation) {}
    void write(std::span<const std::uint8_t> data) override
    {
        while (!data.empty()) {
            const std::size_t n = std::min(data.size(), owner_.limits_.piece_bytes);
            owner_.append(generation_, data.first(n));
            data = data.subspan(n);
        }
    }
    void finish() override {}
    [[nodiscard]] const std::string& name() const override { return owner_.name_; }

private:
    StreamedArchive& owner_;
    std::uint64_t generation_;
};

namespace {
// A reader waiting just past the window must always let the producer drop a piece.
StreamLimits workable(StreamLimits l)
{
    l.piece_bytes = std::max<std::size_t>(l.piece_bytes, 4096);
    l.window_bytes = std::max(l.window_bytes, l.keep_behind + 4 * l.piece_bytes);
    return l;
}
}  // namespace

StreamedArchive::StreamedArchive(std::string name, std::uint64_t size, ArchiveProducer producer,
                                 StreamLimits limits)
    : name_(std::move(name)), size_(size), producer_(std::move(producer)), limits_(workable(limits))
{
    head_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(limits_.head_bytes, size_)));
    std::lock_guard lock(mutex_);
    start_locked();
}

StreamedArchive::~StreamedArchive()
{
    std::thread t;
    {
        std::lock_guard lock(mutex_);
        cancel_ = true;
        t = std::move(thread_);
    }
    changed_.notify_all();
    if (t.joinable()) {
        t.join();
    }
}

std::uint64_t StreamedArchive::restarts() const
{
    std::lock_guard lock(mutex_);
    return restarts_;
}

void StreamedArchive::start_locked()
{
    cancel_ = false;
    done_ = false;
    window_.clear();
    window_start_ = window_end_ = 0;
    window_size_ = 0;
    ++generation_;
    thread_ = std::thread([this, g = generation_] { run(g); });
}

void StreamedArchive::restart(std::unique_lock<std::mutex>& lock)
{
    restarting_ = true;
    cancel_ = true;
    std::thread old = std::move(thread_);
    changed_.notify_all();
    lock.unlock();
    if (old.joinable()) {
        old.join();
    }
    lock.lock();
    ++restarts_;
    start_locked();
    restarting_ = false;
    changed_.notify_all();
}

void StreamedArchive::run(std::uint64_t generation)
{
    std::string failure;
    try {
        WindowSink sink(*this, generation);
        producer_(sink);
        std::lock_guard lock(mutex_);
        if (window_end_ != size_ && generation == generation_) {
            failure = fmt::format("'{}': rebuilt {} bytes, expected {}", name_, window_end_, size_);
        }
    } catch (const Cancelled&) {
        return;
    } catch (const std::exception& e) {
        failure = e.what();
    }
    {
        std::lock_guard lock(mutex_);
        if (generation != generation_) {
            return;
        }
        done_ = true;
        if (!failure.empty() && error_.empty()) {
            error_ = failure;
        }
    }
    changed_.notify_all();
}

void StreamedArchive::append(std::uint64_t generation, std::span<const std::uint8_t> piece)
{
    std::unique_lock lock(mutex_);
    const auto droppable = [this] {
        return !window_.empty() && window_start_ + window_.front().size() + limits_.keep_behind <= demand_;
    };
    for (;;) {
        if (cancel_ || generation != generation_) {
            throw Cancelled{};
        }
        while (window_size_ + piece.size() > limits_.window_bytes && droppable()) {
            window_start_ += window_.front().size();
            window_size_ -= window_.front().size();
            window_.pop_front();
        }
        if (window_size_ + piece.size() <= limits_.window_bytes) {
            break;
        }
        changed_.wait(lock);
    }
    if (window_end_ + piece.size() > size_) {
        throw io::file_error(name_, "rebuilds to more than its size of {} bytes", size_);
    }
    // The start goes into the head cache once, the first time it is produced.
    if (window_end_ < limits_.head_bytes && head_.size() == window_end_) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), limits_.head_bytes - window_end_));
        head_.insert(head_.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
    }
    window_.emplace_back(piece.begin(), piece.end());
    window_size_ += piece.size();
    window_end_ += piece.size();
    lock.unlock();
    changed_.notify_all();
}

bool StreamedArchive::copy_available(std::uint64_t& pos, std::uint8_t*& out, std::uint64_t end)
{
    if (pos < head_.size()) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(end, head_.size()) - pos);
        std::memcpy(out, head_.data() + pos, n);
        pos += n;
        out += n;
        return true;
    }
    if (pos < window_start_ || pos >= window_end_) {
        return false;
    }
    std::uint64_t chunk_start = window_start_;
    for (const auto& chunk : window_) {
        const std::uint64_t chunk_end = chunk_start + chunk.size();
        if (pos < chunk_end) {
            const std::size_t n = static_cast<std::size_t>(std::min(end, chunk_end) - pos);
            std::memcpy(out, chunk.data() + (pos - chunk_start), n);
            pos += n;
            out += n;
            if (pos == end) {
                break;
            }
        }
        chunk_start = chunk_end;
    }
    return true;
}

std::size_t StreamedArchive::read(std::uint64_t offset, std::span<std::uint8_t> buf)
{
    if (offset >= size_ || buf.empty()) {
        return 0;
    }
    const std::uint64_t end = offset + std::min<std::uint64_t>(buf.size(), size_ - offset);
    std::uint64_t pos = offset;
    std::uint8_t* out = buf.data();
    std::unique_lock lock(mutex_);
    while (pos < end) {
        if (restarting_) {
            changed_.wait(lock);
            continue;
        }
        if (copy_available(pos, out, end)) {
            continue;
        }
        if (!error_.empty()) {
            throw io::Error(error_);
        }
        if (pos < window_start_) {
            // Behind the window and past the head cache: produce again from the start.
            demand_ = end;
            restart(lock);
            continue;
        }
        if (done_) {
            throw io::file_error(name_, "ended at {} bytes, expected {}", window_end_, size_);
        }
        // Bytes before `pos` (less keep_behind) may go to make room; `pos` on may not:
        // this read still needs them.
        demand_ = std::max(demand_, pos);
        changed_.notify_all();
        changed_.wait(lock);
    }
    demand_ = std::max(demand_, end);
    lock.unlock();
    changed_.notify_all();
    return static_cast<std::size_t>(end - offset);
}

}  // namespace pvediff::commands
