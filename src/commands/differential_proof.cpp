// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/differential_proof.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "pvediff/io/counting_stream.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/stream_pipe.h"

namespace pvediff::commands {

struct CheckedInput::State {
    explicit State(const std::string& name) : pipe("checked " + name) {}
    io::StreamPipe pipe;
    std::thread checker;
    ContentCheck check;
    std::string error;
    std::atomic<bool> reader_gone{false};  // the checker stopped: the tee stops copying
    bool ended = false;                    // the tee saw the end and finished the pipe
    bool joined = false;
};

namespace {

// Reads the new archive for the encoder and copies every byte read into the pipe.
// Runs on whichever thread reads it (the encoder's read-ahead).
class TeeToChecker final : public io::ByteSource {
public:
    TeeToChecker(std::unique_ptr<io::ByteSource> inner, std::shared_ptr<CheckedInput::State> state)
        : inner_(std::move(inner)), state_(std::move(state))
    {
    }
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = inner_->read(buf);
        if (state_->reader_gone.load()) {
            return n;  // its error is reported by finish(); the encoder goes on
        }
        try {
            if (n == 0) {
                if (!state_->ended) {
                    state_->ended = true;
                    state_->pipe.sink().finish();
                }
            } else {
                state_->pipe.sink().write(buf.first(n));
            }
        } catch (const io::Error&) {
            // Reason 2 (docs/architecture.md): the checker stopped reading; its own
            // error crosses to finish(). Anything else is the pipe's and goes on.
            if (!state_->reader_gone.load()) {
                throw;
            }
        }
        return n;
    }
    [[nodiscard]] const std::string& name() const override { return inner_->name(); }

private:
    std::unique_ptr<io::ByteSource> inner_;
    std::shared_ptr<CheckedInput::State> state_;
};

}  // namespace

CheckedInput::CheckedInput(io::DecodedInput input) : state_(std::make_shared<State>(input.source->name()))
{
    State& s = *state_;
    s.checker = std::thread([&s] {
        try {
            s.check = check_content(s.pipe.source());
        } catch (const std::exception& e) {
            // Reason 2: carried to finish() on the caller's thread.
            s.error = e.what();
            s.reader_gone.store(true);
            s.pipe.close_reader();
        }
    });
    input.source = std::make_unique<TeeToChecker>(std::move(input.source), state_);
    input_ = std::move(input);
}

CheckedInput::~CheckedInput()
{
    if (!state_->joined) {
        state_->pipe.fail("the new archive was not read to its end");
        state_->checker.join();
    }
}

io::DecodedInput CheckedInput::take()
{
    return std::move(input_);
}

ContentCheck CheckedInput::finish()
{
    State& s = *state_;
    if (!s.ended) {
        s.pipe.fail("the new archive was not read to its end");
    }
    s.checker.join();
    s.joined = true;
    if (!s.error.empty()) {
        throw io::Error(s.error);
    }
    return std::move(s.check);
}

engine::ProofCheckResult check_written_differential(int fd, const std::string& name,
                                                    const engine::CopyProof& proof,
                                                    std::uint64_t target_bytes,
                                                    const std::function<void(std::uint64_t)>& on_file_bytes)
{
    // The writer is done with the file: the shared offset may move.
    io::Fd own(::dup(fd));
    if (!own.valid() || ::lseek(own.get(), 0, SEEK_SET) != 0) {
        io::throw_errno("read back", name, errno);
    }
    io::DecodedInput delta = io::open_decompressed(std::make_unique<io::CountingSource>(
        std::make_unique<io::FileSource>(std::move(own), name), on_file_bytes));
    return engine::check_proof(proof, *delta.source, target_bytes);
}

}  // namespace pvediff::commands
