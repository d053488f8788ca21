// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Clean exits on SIGTERM, SIGINT and SIGHUP: the temporaries of the run are removed and
// the process exits with 128 + the signal's number, as a shell reports a killed command.
//
// The three signals are blocked in every thread (InterruptExit is made first thing in
// main(), before any other thread exists, and threads inherit the mask) and one
// dedicated thread waits for them with sigwait(2). It runs as an ordinary thread, not
// in a signal handler, so it may take a mutex and call unlinkat. It does not ask the
// other threads to stop: a thread may sit in a blocking read of a pipe (`patch --delta -`)
// for ever. It removes every registered temporary and calls _exit(); the kernel then
// closes the descriptors and drops the guest locks.
//
// A signal ignored when pvediff starts (`nohup`, SIGINT for a shell's background job)
// stays ignored.
//
// The set of registered temporaries is the one piece of process-wide mutable state:
// a signal concerns the whole process, so what it must undo has to be reachable from it.
#include <cstdint>
#include <string>

namespace pvediff::io {

class InterruptExit {
public:
    InterruptExit();
    InterruptExit(const InterruptExit&) = delete;
    InterruptExit& operator=(const InterruptExit&) = delete;
    ~InterruptExit() = default;  // the waiting thread ends with the process
};

// While it lives, SIGTERM, SIGINT and SIGHUP go to the thread that made it, unblocked
// there, instead of ending the process: for a component that stops cleanly on them
// by itself (the FUSE loop of `pvediff mount`, whose handlers unmount the view). A
// signal the waiting thread takes meanwhile is passed on to that thread.
class SignalHandover {
public:
    SignalHandover();
    SignalHandover(const SignalHandover&) = delete;
    SignalHandover& operator=(const SignalHandover&) = delete;
    ~SignalHandover();
};

// While it lives, the file `name` in the directory `dir_fd` is removed if the process
// is interrupted. `dir_fd` must stay open as long as the registration.
class TempRegistration {
public:
    TempRegistration(int dir_fd, std::string name);
    TempRegistration(const TempRegistration&) = delete;
    TempRegistration& operator=(const TempRegistration&) = delete;
    ~TempRegistration();

private:
    std::uint64_t id_ = 0;
};

}  // namespace pvediff::io
