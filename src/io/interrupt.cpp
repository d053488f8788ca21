// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/interrupt.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "pvediff/io/error.h"

namespace pvediff::io {

namespace {

struct Registry {
    std::mutex mutex;
    std::uint64_t next_id = 0;
    std::map<std::uint64_t, std::pair<int, std::string>> temps;
    sigset_t mask_at_start{};  // what a child process (the chained hook script) gets back
    sigset_t waited{};         // the signals the waiting thread takes
    // Set while a SignalHandover lives: the thread that handles the signals itself.
    std::optional<pthread_t> handed_to;
};

// Never destroyed: the waiting thread may still use it while the process exits.
Registry& registry()
{
    static auto* r = new Registry;
    return *r;
}

// The three signals, less those ignored when we started: `nohup` ignores SIGHUP and a
// shell ignores SIGINT for a background job, and a blocked signal is delivered to
// sigwait even when ignored, so they must stay out of the set (and unblocked).
sigset_t interrupt_signals()
{
    sigset_t set;
    sigemptyset(&set);
    for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
        struct sigaction current {};
        if (::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) {
            continue;
        }
        sigaddset(&set, sig);
    }
    return set;
}

void write_stderr(const std::string& text)
{
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, text.data(), text.size());
}

[[noreturn]] void wait_and_exit(sigset_t set)
{
    Registry& r = registry();
    int sig = 0;
    for (;;) {
        while (::sigwait(&set, &sig) != 0) {
        }
        // Held until _exit: no temporary is registered or committed meanwhile.
        r.mutex.lock();
        if (!r.handed_to) {
            break;
        }
        // A component handles the signal itself (SignalHandover): pass it on.
        ::pthread_kill(*r.handed_to, sig);
        r.mutex.unlock();
    }
    std::size_t removed = 0;
    for (const auto& [id, temp] : r.temps) {
        if (::unlinkat(temp.first, temp.second.c_str(), 0) == 0) {
            ++removed;
        }
    }
    write_stderr("pvediff: interrupted by " +
                 (sigabbrev_np(sig) ? "SIG" + std::string(sigabbrev_np(sig)) : "a signal") +
                 (removed ? "; temporary files removed\n" : "\n"));
    ::_exit(128 + sig);
}

}  // namespace

InterruptExit::InterruptExit()
{
    const sigset_t set = interrupt_signals();
    Registry& r = registry();
    r.waited = set;
    if (const int rc = ::pthread_sigmask(SIG_BLOCK, &set, &r.mask_at_start); rc != 0) {
        throw_errno("block signals", "pvediff", rc);
    }
    // A blocked mask survives fork and exec: a program pvediff starts (the chained
    // hook script) must get SIGTERM and the others as pvediff itself got them.
    ::pthread_atfork(nullptr, nullptr,
                     [] { ::pthread_sigmask(SIG_SETMASK, &registry().mask_at_start, nullptr); });
    if (::sigisemptyset(&set) == 0) {  // all three ignored: nothing to wait for
        std::thread(wait_and_exit, set).detach();
    }
}

SignalHandover::SignalHandover()
{
    Registry& r = registry();
    const std::lock_guard lock(r.mutex);
    r.handed_to = ::pthread_self();
    if (const int rc = ::pthread_sigmask(SIG_UNBLOCK, &r.waited, nullptr); rc != 0) {
        throw_errno("unblock signals", "pvediff", rc);
    }
}

SignalHandover::~SignalHandover()
{
    Registry& r = registry();
    const std::lock_guard lock(r.mutex);
    ::pthread_sigmask(SIG_BLOCK, &r.waited, nullptr);
    r.handed_to.reset();
}

TempRegistration::TempRegistration(int dir_fd, std::string name)
{
    Registry& r = registry();
    const std::lock_guard lock(r.mutex);
    id_ = r.next_id++;
    r.temps.emplace(id_, std::make_pair(dir_fd, std::move(name)));
}

TempRegistration::~TempRegistration()
{
    Registry& r = registry();
    const std::lock_guard lock(r.mutex);
    r.temps.erase(id_);
}

}  // namespace pvediff::io
