#pragma once

#include <string_view>

namespace pvediff::commands {

// Named moments in the commands that change a dump dir, where a test can make pvediff
// fail on purpose to prove what such a failure leaves behind. Set
// PVEDIFF_FAULT_AT=<name> to throw an io::Error there (exit 3, like a failed write), or
// PVEDIFF_FAULT_AT=<name>:kill to die by SIGKILL there (like a power cut for the
// process). Unset, a fault point costs one getenv().
void fault_point(std::string_view name);
// With PVEDIFF_FAULT_AT=<name>:damage, flips the bits of one byte in the middle of the
// file open as `fd` (at least one byte long), like a write error the disk did not
// report: what reads the file back must notice. Otherwise does nothing.
void fault_point_damage(std::string_view name, int fd);

}  // namespace pvediff::commands
