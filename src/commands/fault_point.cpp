#include "pvediff/commands/fault_point.h"

#include "pvediff/io/error.h"

#include <csignal>
#include <cstdlib>
#include <string>

namespace pvediff::commands {

void fault_point(std::string_view name)
{
    const char* wanted = std::getenv("PVEDIFF_FAULT_AT");
    if (wanted == nullptr) {
        return;
    }
    const std::string_view spec(wanted);
    if (spec == name) {
        throw io::Error(fmt::format("fault injected at '{}' (PVEDIFF_FAULT_AT)", name));
    }
    if (spec.size() == name.size() + 5 && spec.starts_with(name) && spec.ends_with(":kill")) {
        std::raise(SIGKILL);
    }
}

}  // namespace pvediff::commands
