// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/scratch_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"

namespace pvediff::commands {

std::filesystem::path scratch_dir(const std::string& tmpdir, const std::filesystem::path& beside_dir)
{
    if (tmpdir.empty()) {
        return beside_dir;
    }
    struct stat st {};
    if (::stat(tmpdir.c_str(), &st) != 0) {
        throw io::file_error(tmpdir, "tmpdir for scratch files: {}", std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        throw io::file_error(tmpdir, "tmpdir for scratch files: {}, not a directory",
                             io::file_type_words(st.st_mode));
    }
    if (::access(tmpdir.c_str(), W_OK | X_OK) != 0) {
        throw io::file_error(tmpdir, "tmpdir for scratch files: not writable ({})", std::strerror(errno));
    }
    return tmpdir;
}

}  // namespace pvediff::commands
