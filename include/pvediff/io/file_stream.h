// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Byte streams over files, standard input and standard output ("-").
#include <memory>
#include <string>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/fd.h"

namespace pvediff::io {

class FileSource final : public ByteSource {
public:
    // "-" reads standard input (named "<stdin>" in messages).
    explicit FileSource(const std::string& path);
    FileSource(Fd fd, std::string name);
    std::size_t read(std::span<std::uint8_t> buf) override;
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::uint64_t offset() const { return offset_; }

private:
    Fd fd_;
    std::string name_;
    std::uint64_t offset_ = 0;
};

// Writes to a descriptor it does not own (standard output, or an AtomicFile's).
class FdSink final : public ByteSink {
public:
    // `flush_behind`: the file will be fsynced when complete (io::AtomicFile), so its
    // pages are sent to the disk as it grows instead of all at once at the end. Gigabytes
    // of dirty pages make the kernel throttle every writer on the machine, and the final
    // fsync would wait for all of them.
    FdSink(int fd, std::string name, bool flush_behind = false)
        : fd_(fd), name_(std::move(name)), flush_behind_(flush_behind)
    {
    }
    void write(std::span<const std::uint8_t> data) override;
    void finish() override {}
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    void flush_behind();

    int fd_;
    std::string name_;
    bool flush_behind_;
    std::uint64_t bytes_ = 0;
    std::uint64_t flushed_ = 0;  // bytes handed to the disk (flush_behind)
    std::uint64_t waited_ = 0;   // bytes known to be on the disk
};

std::unique_ptr<ByteSource> open_file_source(const std::string& path);
std::unique_ptr<ByteSink> stdout_sink();

}  // namespace pvediff::io
