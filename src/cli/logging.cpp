// SPDX-License-Identifier: GPL-2.0-or-later
#include "logging.h"

#include <spdlog/sinks/base_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include "pvediff/commands/report.h"
#include "pvediff/io/parse_number.h"

namespace pvediff::cli {

namespace {

// sd-daemon(3) priorities: err 3, warning 4, notice 5, info 6, debug 7.
int journal_priority(spdlog::level::level_enum level)
{
    switch (level) {
        case spdlog::level::critical:
            return 2;
        case spdlog::level::err:
            return 3;
        case spdlog::level::warn:
            return 4;
        case spdlog::level::info:
            return 6;
        default:
            return 7;
    }
}

// "pvediff: <message>" (or "<N>pvediff: <message>" for the journal), one line each,
// flushed at once so lines interleave correctly with a child's (the chained hook).
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    LineSink(std::FILE* out, bool journal) : out_(out), journal_(journal) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override
    {
        // Names in messages come from dump dirs others write: control characters are
        // escaped so that they cannot forge lines or drive the terminal.
        const std::string text =
            commands::printable(std::string_view(msg.payload.data(), msg.payload.size()));
        if (journal_) {
            std::fprintf(out_, "<%d>", journal_priority(msg.level));
        }
        const char* prefix = msg.level >= spdlog::level::err ? "pvediff: error: " : "pvediff: ";
        std::fprintf(out_, "%s%.*s\n", prefix, static_cast<int>(text.size()), text.data());
        std::fflush(out_);
    }
    void flush_() override { std::fflush(out_); }

private:
    std::FILE* out_;
    bool journal_;
};

spdlog::level::level_enum level_for(Verbosity v)
{
    switch (v) {
        case Verbosity::quiet:
            return spdlog::level::err;
        case Verbosity::verbose:
            return spdlog::level::debug;
        default:
            return spdlog::level::info;
    }
}

}  // namespace

Loggers make_loggers(Verbosity verbosity)
{
    Loggers l;
    l.out = std::make_shared<spdlog::logger>(
        "stdout", std::make_shared<LineSink>(stdout, is_journal_stream(STDOUT_FILENO)));
    l.err = std::make_shared<spdlog::logger>(
        "stderr", std::make_shared<LineSink>(stderr, is_journal_stream(STDERR_FILENO)));
    for (auto* logger : {l.out.get(), l.err.get()}) {
        logger->set_level(level_for(verbosity));
    }
    return l;
}

bool is_journal_stream(int fd)
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr || *stream == '\0') {
        return false;
    }
    // "DEV:INODE", both decimal, nothing else.
    const std::string_view text(stream);
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    const auto dev = io::parse_number<std::uint64_t>(text.substr(0, colon));
    const auto ino = io::parse_number<std::uint64_t>(text.substr(colon + 1));
    if (!dev || !ino) {
        return false;
    }
    struct stat st {};
    return ::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == *dev &&
           static_cast<std::uint64_t>(st.st_ino) == *ino;
}

}  // namespace pvediff::cli
