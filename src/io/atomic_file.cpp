// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "pvediff/io/error.h"
#include "pvediff/io/parse_number.h"

namespace pvediff::io {

std::string temp_host_tag()
{
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        return "unknown";
    }
    std::string tag(host, ::strnlen(host, sizeof host));
    if (tag.size() > 32) {
        tag.resize(32);
    }
    for (char& c : tag) {
        const bool plain =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        c = plain ? c : '_';
    }
    return tag.empty() ? "unknown" : tag;
}

namespace {

// The process's umask, read without changing it (umask(2) can only set it, and
// setting it back would race with other threads creating files).
mode_t current_umask()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("Umask:")) {
            try {
                return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
            } catch (const std::exception&) {
                break;
            }
        }
    }
    return 077;  // unknown: the narrowest
}

void apply_mode(int fd, const FileMode& m, const std::string& name)
{
    mode_t mode = static_cast<mode_t>(m.mode) & 0777;
    if (m.uid || m.gid) {
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            throw_errno("inspect", name, errno);
        }
        const uid_t uid = m.uid.value_or(st.st_uid);
        const gid_t gid = m.gid.value_or(st.st_gid);
        if ((uid != st.st_uid || gid != st.st_gid) && ::fchown(fd, uid, gid) != 0) {
            if (errno != EPERM) {
                throw_errno("change the owner of", name, errno);
            }
            mode &= 0700;  // the group or owner could not be given: readable by us only
        }
    } else {
        mode &= ~current_umask();
    }
    // After fchown, which may clear setgid bits and is never given any.
    if (::fchmod(fd, mode) != 0) {
        throw_errno("change the mode of", name, errno);
    }
}

}  // namespace

std::filesystem::path temp_path_for(const std::filesystem::path& final_path)
{
    std::random_device rd;
    const std::string name = "." + final_path.filename().string() + "." + std::to_string(::getpid()) + "-" +
                             std::to_string(rd() % 1000000) + "-" + temp_host_tag() +
                             std::string(temp_marker);
    return final_path.parent_path() / name;
}

std::optional<TempOwner> temp_owner(std::string_view name)
{
    if (!name.ends_with(temp_marker)) {
        return std::nullopt;
    }
    name.remove_suffix(temp_marker.size());
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view tail = name.substr(dot + 1);  // <pid>-<random>[-<host>]
    const auto dash = tail.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    TempOwner owner;
    const auto pid = parse_number<decltype(owner.pid)>(tail.substr(0, dash));
    if (!pid || *pid <= 0) {
        return std::nullopt;
    }
    owner.pid = *pid;
    const auto host_dash = tail.find('-', dash + 1);
    if (host_dash != std::string_view::npos) {
        owner.host = std::string(tail.substr(host_dash + 1));
    }
    return owner;
}

bool is_temp_name(std::string_view file_name)
{
    return file_name.ends_with(temp_marker);
}

FileMode FileMode::like(const struct stat& st)
{
    FileMode m;
    m.mode = static_cast<unsigned>(st.st_mode & 0777);
    m.uid = st.st_uid;
    m.gid = st.st_gid;
    return m;
}

FileMode mode_like(const std::filesystem::path& file)
{
    const Fd fd = open_regular_file(file);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw_errno("inspect", file.string(), errno);
    }
    return FileMode::like(st);
}

AtomicFile::AtomicFile(std::filesystem::path final_path, FileMode mode)
    : final_path_(std::move(final_path)),
      temp_path_(temp_path_for(final_path_)),
      mode_(mode),
      dir_(DirHandle::of(final_path_)),
      fd_(dir_.create_exclusive(temp_path_.filename().string(), 0600)),
      registration_(dir_.fd(), temp_path_.filename().string()),
      sink_(fd_.get(), temp_path_.string(), /*flush_behind=*/true)
{
}

AtomicFile::~AtomicFile()
{
    if (!committed_) {
        fd_.reset();
        try {
            dir_.unlink(temp_path_.filename().string());
        } catch (const Error&) {
            // Nothing more to do from a destructor; cleanup of leftovers finds the marker.
        }
    }
}

void AtomicFile::sync_and_close()
{
    apply_mode(fd_.get(), mode_, temp_path_.string());
    fsync_fd(fd_.get(), temp_path_.string());
    if (::close(fd_.release()) != 0) {
        throw_errno("close", temp_path_.string(), errno);
    }
}

void AtomicFile::commit()
{
    sync_and_close();
    dir_.rename(temp_path_.filename().string(), final_path_.filename().string());
    committed_ = true;
    dir_.sync();
}

void AtomicFile::commit_no_replace()
{
    sync_and_close();
    // link(2) fails with EEXIST instead of replacing, also on NFS.
    dir_.link(temp_path_.filename().string(), final_path_.filename().string());
    committed_ = true;
    dir_.unlink(temp_path_.filename().string());
    dir_.sync();
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content, FileMode mode)
{
    AtomicFile file(path, mode);
    file.sink().write(std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
    file.commit();
}

}  // namespace pvediff::io
