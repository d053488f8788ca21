// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/atomic_file.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <unistd.h>

#include "pvediff/io/error.h"

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
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        c = plain ? c : '_';
    }
    return tag.empty() ? "unknown" : tag;
}

std::filesystem::path temp_path_for(const std::filesystem::path& final_path)
{
    std::random_device rd;
    const std::string name = "." + final_path.filename().string() + "." +
                             std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000) + "-" +
                             temp_host_tag() + std::string(temp_marker);
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
    const auto [end, ec] = std::from_chars(tail.data(), tail.data() + dash, owner.pid);
    if (ec != std::errc() || end != tail.data() + dash || owner.pid <= 0) {
        return std::nullopt;
    }
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

AtomicFile::AtomicFile(std::filesystem::path final_path, unsigned mode)
    : final_path_(std::move(final_path)),
      temp_path_(temp_path_for(final_path_)),
      fd_(open_fd(temp_path_.string(), O_WRONLY | O_CREAT | O_EXCL, mode)),
      sink_(fd_.get(), temp_path_.string(), /*flush_behind=*/true)
{
}

AtomicFile::~AtomicFile()
{
    if (!committed_) {
        fd_.reset();
        ::unlink(temp_path_.c_str());
    }
}

void AtomicFile::sync_and_close()
{
    fsync_fd(fd_.get(), temp_path_.string());
    if (::close(fd_.release()) != 0) {
        throw_errno("close", temp_path_.string(), errno);
    }
}

void AtomicFile::commit()
{
    sync_and_close();
    if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
        throw_errno("rename into place", final_path_.string(), errno);
    }
    committed_ = true;
    fsync_dir(final_path_.parent_path().string());
}

void AtomicFile::commit_no_replace()
{
    sync_and_close();
    // link(2) fails with EEXIST instead of replacing, also on NFS.
    if (::link(temp_path_.c_str(), final_path_.c_str()) != 0) {
        throw_errno("create", final_path_.string(), errno);
    }
    committed_ = true;
    ::unlink(temp_path_.c_str());
    fsync_dir(final_path_.parent_path().string());
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content)
{
    AtomicFile file(path);
    file.sink().write(std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
    file.commit();
}

}  // namespace pvediff::io
