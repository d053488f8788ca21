// SPDX-License-Identifier: GPL-2.0-or-later
#include "spill_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pvediff/io/atomic_file.h"
#include "pvediff/io/error.h"

namespace pvediff::engine::detail {

bool SpillFile::create_in(const std::filesystem::path& dir)
{
    // A file without a name from the start: a kill leaves nothing. Where the file
    // system cannot do that, a named file unlinked at once (a kill between the two
    // leaves an empty temporary, which `prune` lists as stale).
    name_ = (dir / "pvediff-spill (unnamed scratch file)").string();
    fd_ = io::Fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (fd_.valid()) {
        return true;
    }
    name_ = io::temp_path_for(dir / "pvediff-spill").string();
    fd_ = io::Fd(::open(name_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd_.valid()) {
        return false;
    }
    ::unlink(name_.c_str());  // the open descriptor keeps it until we are done
    return true;
}

std::uint64_t SpillFile::append(std::span<const std::uint8_t> bytes)
{
    if (!fd_.valid() && !create_in(dir_)) {
        const int err = errno;
        const std::string first = name_;
        if (fallback_dir_.empty()) {
            io::throw_errno("open", first, err);
        }
        if (!create_in(fallback_dir_)) {
            throw io::Error(fmt::format("cannot open '{}': {}; nor '{}': {}", first, std::strerror(err),
                                        name_, std::strerror(errno)));
        }
    }
    const std::uint64_t at = end_;
    io::pwrite_all(fd_.get(), bytes, at, name_);
    end_ += bytes.size();
    return at;
}

void SpillFile::release(std::uint64_t offset, std::uint64_t length)
{
    if (fd_.valid() && length > 0 && offset + length <= end_) {
        // Only the file's blocks wholly inside the range are freed; bytes outside it
        // are never touched, so neighbours in the file stay as they were.
        (void)::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                          static_cast<off_t>(length));
    }
}

std::uint64_t SpillFile::allocated_bytes() const
{
    struct stat st {};
    if (!fd_.valid() || ::fstat(fd_.get(), &st) != 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

void SpillFile::clear()
{
    if (fd_.valid() && ::ftruncate(fd_.get(), 0) == 0) {
        end_ = 0;
    }
}

void SpillFile::read(std::uint64_t offset, std::span<std::uint8_t> out) const
{
    if (!out.empty()) {
        io::pread_exact(fd_.get(), out, offset, name_);
    }
}

}  // namespace pvediff::engine::detail
