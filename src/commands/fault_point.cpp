#include "pvediff/commands/fault_point.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string>

#include "pvediff/io/error.h"

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

void fault_point_damage(std::string_view name, int fd)
{
    const char* wanted = std::getenv("PVEDIFF_FAULT_AT");
    if (wanted == nullptr || std::string_view(wanted) != std::string(name) + ":damage") {
        return;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size == 0) {
        throw io::Error(fmt::format("fault point '{}': nothing to damage", name));
    }
    const off_t at = st.st_size / 2;
    unsigned char b = 0;
    if (::pread(fd, &b, 1, at) != 1) {
        io::throw_errno("read", "fault point", errno);
    }
    b = static_cast<unsigned char>(~b);
    if (::pwrite(fd, &b, 1, at) != 1) {
        io::throw_errno("write", "fault point", errno);
    }
}

}  // namespace pvediff::commands
