// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Writes a file under a temporary name that neither PVE nor pvediff takes for a
// backup, and moves it into place only on commit(): fsync of the data, rename(2),
// fsync of the directory (docs/data-safety.md, rule 2). Destroyed without commit(), it removes
// the temporary file, so a failed run leaves nothing under a final name; an interrupt
// (SIGTERM, SIGINT, SIGHUP) removes it too (io/interrupt.h).
//
// Everything goes through a io::DirHandle of the final name's directory: the temporary
// is created exclusively (O_EXCL, O_NOFOLLOW) with mode 0600, so nobody else can read
// it while it is written, and gets its final mode, owner and group (FileMode) just
// before the rename.
#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "pvediff/io/byte_stream.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/fd.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/interrupt.h"

namespace pvediff::io {

// Every temporary file pvediff writes carries this marker; cleanup looks for it.
inline constexpr std::string_view temp_marker = ".pvediff-tmp";

// ".<final name>.<pid>-<random>-<host>.pvediff-tmp" in the same directory as
// `final_path`. The host (temp_host_tag) tells whether the pid is one of this host's:
// a dump dir is often shared by several nodes.
std::filesystem::path temp_path_for(const std::filesystem::path& final_path);
// This host's name as temporary names carry it: at most 32 of [A-Za-z0-9-], others '_'.
std::string temp_host_tag();
// Who wrote a temporary file, from its name; `host` is empty in the names of older
// pvediff versions (".<final>.<pid>-<random>.pvediff-tmp"). nullopt: not one of ours.
struct TempOwner {
    int pid = 0;
    std::string host;
};
std::optional<TempOwner> temp_owner(std::string_view file_name);
bool is_temp_name(std::string_view file_name);

// The permissions a written file ends with.
struct FileMode {
    // Permission bits; with no owner given they are narrowed by the umask, like open(2).
    unsigned mode = 0644;
    // Set: the file gets this owner and group (and `mode` as it is). When they cannot
    // be given (not root), the group and other bits are dropped: never wider.
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;

    // Mode bits (rwx only: never setuid, setgid or sticky), owner and group of `st`.
    static FileMode like(const struct stat& st);
};

// The FileMode of an existing regular file (never following a link; io::DirHandle rules).
FileMode mode_like(const std::filesystem::path& file);

class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path final_path, FileMode mode = {});
    AtomicFile(std::filesystem::path final_path, unsigned mode)
        : AtomicFile(std::move(final_path), FileMode{mode, std::nullopt, std::nullopt})
    {
    }
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile();

    // Raw sink onto the temporary file. Wrap it in a compressor as needed; finish()
    // the outermost sink before commit().
    ByteSink& sink() { return sink_; }
    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] const std::filesystem::path& temp_path() const { return temp_path_; }
    [[nodiscard]] const std::filesystem::path& final_path() const { return final_path_; }
    // The permissions given at commit (replacing those of the constructor).
    void set_mode(const FileMode& mode) { mode_ = mode; }
    // fsync, rename over final_path (replacing it), fsync the directory.
    void commit();
    // Like commit(), but fails with an error if final_path exists (link + unlink).
    void commit_no_replace();

private:
    void sync_and_close();

    std::filesystem::path final_path_;
    std::filesystem::path temp_path_;
    FileMode mode_;
    DirHandle dir_;
    Fd fd_;
    TempRegistration registration_;
    FdSink sink_;
    bool committed_ = false;
};

// Writes a small file atomically in one call.
void write_file_atomic(const std::filesystem::path& path, std::string_view content, FileMode mode = {});

}  // namespace pvediff::io
