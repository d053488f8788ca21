// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// An error in what the user asked for (options that contradict each other, a codec
// pvediff cannot write, a guest that is ambiguous), found by a command rather than
// by the argument parser. The cli maps it to the usage exit status (2), like a
// parse error: nothing was started.
#include "pvediff/io/error.h"

namespace pvediff::commands {

class UsageError : public io::Error {
public:
    using io::Error::Error;
};

}  // namespace pvediff::commands
