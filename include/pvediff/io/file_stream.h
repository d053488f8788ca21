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
    FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    void write(std::span<const std::uint8_t> data) override;
    void finish() override {}
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    int fd_;
    std::string name_;
    std::uint64_t bytes_ = 0;
};

std::unique_ptr<ByteSource> open_file_source(const std::string& path);
std::unique_ptr<ByteSink> stdout_sink();

}  // namespace pvediff::io
