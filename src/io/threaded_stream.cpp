// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/threaded_stream.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "pvediff/io/error.h"

namespace pvediff::io {

namespace {

// The buffers a stage hands between its two threads. At most `depth` are ever
// allocated; once handed back they are reused, so a long stream allocates no more.
class BufferPool {
public:
    BufferPool(std::size_t buffer_size, std::size_t depth) : buffer_size_(buffer_size), depth_(depth)
    {
        if (buffer_size == 0 || depth == 0) {
            throw Error("threaded stream: buffer size and depth must be positive");
        }
    }

    // Caller holds the lock guarding the pool.
    [[nodiscard]] bool can_take() const { return !free_.empty() || allocated_ < depth_; }
    std::vector<std::uint8_t> take()
    {
        if (!free_.empty()) {
            std::vector<std::uint8_t> buf = std::move(free_.back());
            free_.pop_back();
            return buf;
        }
        ++allocated_;
        return std::vector<std::uint8_t>(buffer_size_);
    }
    void give_back(std::vector<std::uint8_t> buf) { free_.push_back(std::move(buf)); }
    [[nodiscard]] std::size_t buffer_size() const { return buffer_size_; }

private:
    std::size_t buffer_size_;
    std::size_t depth_;
    std::size_t allocated_ = 0;
    std::vector<std::vector<std::uint8_t>> free_;
};

struct Filled {
    std::vector<std::uint8_t> buf;
    std::size_t size;
    bool boundary_after = false;  // write-behind: pass ByteSink::mark_boundary() on after it
};

class ReadAheadSource final : public ByteSource {
public:
    ReadAheadSource(std::unique_ptr<ByteSource> inner, std::size_t buffer_size, std::size_t depth)
        : inner_(std::move(inner)), pool_(buffer_size, depth)
    {
        thread_ = std::thread([this] { produce(); });
    }

    ~ReadAheadSource() override
    {
        {
            const std::lock_guard lock(mutex_);
            stop_ = true;
        }
        space_.notify_all();
        // Waits at most for the inner read in progress, which a file or codec
        // always finishes.
        thread_.join();
    }
    ReadAheadSource(const ReadAheadSource&) = delete;
    ReadAheadSource& operator=(const ReadAheadSource&) = delete;

    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (buf.empty()) {
            return 0;
        }
        if (pos_ == current_.size) {
            std::unique_lock lock(mutex_);
            if (!current_.buf.empty()) {
                pool_.give_back(std::move(current_.buf));
                current_ = {{}, 0};
                pos_ = 0;
                space_.notify_one();
            }
            data_.wait(lock, [this] { return !filled_.empty() || eof_ || error_; });
            if (filled_.empty()) {
                if (error_) {
                    std::rethrow_exception(error_);
                }
                return 0;
            }
            current_ = std::move(filled_.front());
            filled_.pop_front();
            pos_ = 0;
        }
        const std::size_t n = std::min(buf.size(), current_.size - pos_);
        std::memcpy(buf.data(), current_.buf.data() + pos_, n);
        pos_ += n;
        return n;
    }

    [[nodiscard]] const std::string& name() const override { return inner_->name(); }

private:
    void produce()
    {
        try {
            for (;;) {
                std::vector<std::uint8_t> buf;
                {
                    std::unique_lock lock(mutex_);
                    space_.wait(lock, [this] { return stop_ || pool_.can_take(); });
                    if (stop_) {
                        return;
                    }
                    buf = pool_.take();
                }
                // read_full stops short only at the end of the stream.
                const std::size_t n = read_full(*inner_, buf);
                const bool end = n < buf.size();
                {
                    const std::lock_guard lock(mutex_);
                    if (n > 0) {
                        filled_.push_back({std::move(buf), n});
                    } else {
                        pool_.give_back(std::move(buf));
                    }
                    eof_ = end;
                }
                data_.notify_one();
                if (end) {
                    return;
                }
            }
        } catch (...) {
            {
                const std::lock_guard lock(mutex_);
                error_ = std::current_exception();
            }
            data_.notify_one();
        }
    }

    std::unique_ptr<ByteSource> inner_;
    std::mutex mutex_;
    std::condition_variable data_;   // consumer waits: a buffer filled, the end, an error
    std::condition_variable space_;  // producer waits: a buffer free, or stop
    BufferPool pool_;
    std::deque<Filled> filled_;
    bool eof_ = false;
    bool stop_ = false;
    std::exception_ptr error_;
    // The consumer's buffer, outside the lock.
    Filled current_{{}, 0};
    std::size_t pos_ = 0;
    std::thread thread_;
};

class WriteBehindSink final : public ByteSink {
public:
    WriteBehindSink(std::unique_ptr<ByteSink> inner, std::size_t buffer_size, std::size_t depth)
        : inner_(std::move(inner)), pool_(buffer_size, depth)
    {
        thread_ = std::thread([this] { consume(); });
    }

    ~WriteBehindSink() override
    {
        if (thread_.joinable()) {
            {
                const std::lock_guard lock(mutex_);
                stop_ = true;
            }
            data_.notify_all();
            thread_.join();
        }
    }
    WriteBehindSink(const WriteBehindSink&) = delete;
    WriteBehindSink& operator=(const WriteBehindSink&) = delete;

    void write(std::span<const std::uint8_t> data) override
    {
        if (finished_) {
            throw file_error(name(), "write after finish");
        }
        while (!data.empty()) {
            if (current_.buf.empty()) {
                take_buffer();
            }
            const std::size_t n = std::min(data.size(), current_.buf.size() - current_.size);
            std::memcpy(current_.buf.data() + current_.size, data.data(), n);
            current_.size += n;
            data = data.subspan(n);
            if (current_.size == current_.buf.size()) {
                hand_over();
            }
        }
    }

    // The buffer filled so far goes to the writer thread, which passes the hint on
    // after writing it: the boundary stays where it was in the stream.
    void mark_boundary() override
    {
        if (finished_) {
            throw file_error(name(), "write after finish");
        }
        if (current_.buf.empty()) {
            take_buffer();
        }
        current_.boundary_after = true;
        hand_over();
    }

    void finish() override
    {
        if (finished_) {
            throw file_error(name(), "finish called twice");
        }
        finished_ = true;
        if (current_.size > 0) {
            hand_over();
        }
        {
            const std::lock_guard lock(mutex_);
            closing_ = true;
        }
        data_.notify_one();
        thread_.join();
        if (error_) {
            std::rethrow_exception(error_);
        }
    }

    [[nodiscard]] const std::string& name() const override { return inner_->name(); }

private:
    void take_buffer()
    {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [this] { return pool_.can_take() || error_; });
        if (error_) {
            std::rethrow_exception(error_);
        }
        current_ = {pool_.take(), 0};
    }

    void hand_over()
    {
        {
            const std::lock_guard lock(mutex_);
            if (error_) {
                std::rethrow_exception(error_);
            }
            filled_.push_back(std::move(current_));
        }
        current_ = {{}, 0};
        data_.notify_one();
    }

    void consume()
    {
        try {
            for (;;) {
                Filled chunk{{}, 0};
                {
                    std::unique_lock lock(mutex_);
                    data_.wait(lock, [this] { return stop_ || closing_ || !filled_.empty(); });
                    if (stop_) {
                        return;  // abandoned: the output stays incomplete, as it should
                    }
                    if (filled_.empty()) {
                        break;  // closing, everything written
                    }
                    chunk = std::move(filled_.front());
                    filled_.pop_front();
                }
                if (chunk.size > 0) {
                    inner_->write(std::span(chunk.buf).first(chunk.size));
                }
                if (chunk.boundary_after) {
                    inner_->mark_boundary();
                }
                {
                    const std::lock_guard lock(mutex_);
                    pool_.give_back(std::move(chunk.buf));
                }
                space_.notify_one();
            }
            inner_->finish();
        } catch (...) {
            {
                const std::lock_guard lock(mutex_);
                error_ = std::current_exception();
            }
            space_.notify_one();
        }
    }

    std::unique_ptr<ByteSink> inner_;
    std::mutex mutex_;
    std::condition_variable data_;   // writer thread waits: a buffer filled, closing, stop
    std::condition_variable space_;  // producer waits: a buffer free, or an error
    BufferPool pool_;
    std::deque<Filled> filled_;
    bool closing_ = false;
    bool stop_ = false;
    std::exception_ptr error_;
    // The producer's buffer being filled, outside the lock.
    Filled current_{{}, 0};
    bool finished_ = false;
    std::thread thread_;
};

}  // namespace

std::unique_ptr<ByteSource> make_read_ahead(std::unique_ptr<ByteSource> inner, std::size_t buffer_size,
                                            std::size_t depth)
{
    return std::make_unique<ReadAheadSource>(std::move(inner), buffer_size, depth);
}

std::unique_ptr<ByteSink> make_write_behind(std::unique_ptr<ByteSink> inner, std::size_t buffer_size,
                                            std::size_t depth)
{
    return std::make_unique<WriteBehindSink>(std::move(inner), buffer_size, depth);
}

}  // namespace pvediff::io
