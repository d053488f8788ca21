// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/stream_pipe.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "pvediff/io/error.h"

namespace pvediff::io {

struct StreamPipe::State {
    std::string name;
    std::size_t depth = 0;
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::vector<std::uint8_t>> queue;
    bool finished = false;
    bool reader_closed = false;
    std::string error;
};

namespace {

class PipeSink final : public ByteSink {
public:
    explicit PipeSink(std::shared_ptr<StreamPipe::State> s) : s_(std::move(s)) {}
    void write(std::span<const std::uint8_t> data) override
    {
        if (data.empty()) {
            return;
        }
        std::unique_lock lock(s_->mutex);
        s_->changed.wait(lock, [&] { return s_->queue.size() < s_->depth || s_->reader_closed; });
        if (s_->reader_closed) {
            throw file_error(s_->name, "reader stopped");
        }
        s_->queue.emplace_back(data.begin(), data.end());
        s_->changed.notify_all();
    }
    void finish() override
    {
        const std::lock_guard lock(s_->mutex);
        s_->finished = true;
        s_->changed.notify_all();
    }
    [[nodiscard]] const std::string& name() const override { return s_->name; }

private:
    std::shared_ptr<StreamPipe::State> s_;
};

class PipeSource final : public ByteSource {
public:
    explicit PipeSource(std::shared_ptr<StreamPipe::State> s) : s_(std::move(s)) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        std::unique_lock lock(s_->mutex);
        s_->changed.wait(lock, [&] { return !s_->queue.empty() || s_->finished || !s_->error.empty(); });
        if (!s_->error.empty()) {
            throw Error(s_->error);
        }
        if (s_->queue.empty()) {
            return 0;
        }
        auto& front = s_->queue.front();
        const std::size_t n = std::min(buf.size(), front.size() - offset_);
        std::memcpy(buf.data(), front.data() + offset_, n);
        offset_ += n;
        if (offset_ == front.size()) {
            s_->queue.pop_front();
            offset_ = 0;
            s_->changed.notify_all();
        }
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return s_->name; }

private:
    std::shared_ptr<StreamPipe::State> s_;
    std::size_t offset_ = 0;
};

}  // namespace

StreamPipe::StreamPipe(std::string name, std::size_t depth) : state_(std::make_shared<State>())
{
    state_->name = std::move(name);
    state_->depth = depth == 0 ? 1 : depth;
    sink_ = std::make_unique<PipeSink>(state_);
    source_ = std::make_unique<PipeSource>(state_);
}

StreamPipe::~StreamPipe() = default;

ByteSink& StreamPipe::sink()
{
    return *sink_;
}

ByteSource& StreamPipe::source()
{
    return *source_;
}

void StreamPipe::fail(const std::string& message)
{
    const std::lock_guard lock(state_->mutex);
    state_->error = message.empty() ? fmt::format("'{}': producer failed", state_->name) : message;
    state_->changed.notify_all();
}

void StreamPipe::close_reader()
{
    const std::lock_guard lock(state_->mutex);
    state_->reader_closed = true;
    state_->queue.clear();
    state_->changed.notify_all();
}

}  // namespace pvediff::io
