// SPDX-License-Identifier: GPL-2.0-or-later
// The FUSE glue of `pvediff mount`: path operations on the view (mount_view.h), open
// files of differentials through StreamedArchive (mount_stream.h). Every name lookup
// goes through the current View; the dump dir is reached through one directory
// descriptor, so nothing outside it is ever touched.
#define FUSE_USE_VERSION 312
#include <fcntl.h>
#include <fuse.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "pvediff/commands/mount.h"
#include "pvediff/commands/mount_view.h"
#include "pvediff/commands/pipeline.h"
#include "pvediff/commands/scratch_dir.h"
#include "pvediff/engine/vcdiff_scan.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "pvediff/io/interrupt.h"
#include "pvediff/store/manifest.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

constexpr auto view_ttl = std::chrono::seconds(1);

struct OpenFile {
    io::Fd fd;                                // full, sidecar, or a notes/protected file being written
    std::unique_ptr<StreamedArchive> stream;  // differential
    std::string differential;                 // its path, for the log
    std::atomic_flag logged;                  // one log line per open file, not per read
};

class MountState {
public:
    MountState(const MountOptions& options, bool to_syslog)
        : options_(options),
          to_syslog_(to_syslog),
          dir_fd_(io::open_fd(options.dump_dir.string(), O_RDONLY | O_DIRECTORY))
    {
    }
    ~MountState() = default;

    [[nodiscard]] int dir_fd() const { return dir_fd_.get(); }
    [[nodiscard]] const MountOptions& options() const { return options_; }

    void log(const std::string& line) const
    {
        if (to_syslog_) {
            syslog(LOG_ERR, "%s", line.c_str());
        } else {
            std::fprintf(stderr, "pvediff: %s\n", line.c_str());
        }
    }

    // The current view; scanned again when older than view_ttl or after a change.
    std::shared_ptr<const View> view()
    {
        std::lock_guard lock(view_mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (!view_ || now - scanned_ >= view_ttl) {
            try {
                const store::DumpDir dir = store::scan_dump_dir(options_.dump_dir);
                // Sizes of differentials that are gone are forgotten with this scan.
                SizeCache used;
                view_ = std::make_shared<const View>(
                    build_view(dir, [this, &used](const store::DifferentialBackup& d) {
                        return differential_size(d, used);
                    }));
                sizes_ = std::move(used);
            } catch (const std::exception& e) {
                log(std::string("cannot list the dump dir: ") + e.what());
                if (!view_) {
                    view_ = std::make_shared<const View>();
                }
            }
            scanned_ = now;
        }
        return view_;
    }
    void changed()
    {
        std::lock_guard lock(view_mutex_);
        scanned_ = {};
    }

    OpenFile* add(std::unique_ptr<OpenFile> f)
    {
        std::lock_guard lock(files_mutex_);
        OpenFile* p = f.get();
        files_.emplace(p, std::move(f));
        return p;
    }
    void remove(OpenFile* f)
    {
        std::unique_ptr<OpenFile> gone;
        {
            std::lock_guard lock(files_mutex_);
            const auto it = files_.find(f);
            if (it != files_.end()) {
                gone = std::move(it->second);
                files_.erase(it);
            }
        }
    }
    // At unmount: files the kernel never released (lazy unmount, killed readers).
    void close_all()
    {
        std::map<OpenFile*, std::unique_ptr<OpenFile>> gone;
        std::lock_guard lock(files_mutex_);
        gone.swap(files_);
    }

private:
    // The content size of the archive a differential stands for: the manifest's, or
    // the sum of its VCDIFF target windows. Cached per (file, size, mtime).
    using SizeCache =
        std::map<std::tuple<std::string, std::uint64_t, std::time_t>, std::optional<std::uint64_t>>;

    std::optional<std::uint64_t> differential_size(const store::DifferentialBackup& d, SizeCache& used)
    {
        const auto key = std::make_tuple(d.file, d.size, d.mtime);
        if (const auto it = sizes_.find(key); it != sizes_.end()) {
            used[key] = it->second;
            return it->second;
        }
        std::optional<std::uint64_t> size;
        const fs::path path = options_.dump_dir / d.file;
        try {
            if (const auto m = store::read_manifest(path)) {
                size = m->content_size;
            } else {
                auto in = io::open_decompressed(path.string());
                size = engine::scan_vcdiff(*in.source).target_bytes;
            }
        } catch (const std::exception& e) {
            log(fmt::format("'{}' is not shown: {}", path.string(), e.what()));
        }
        used[key] = size;
        return size;
    }

    MountOptions options_;
    bool to_syslog_;
    io::Fd dir_fd_;
    std::mutex view_mutex_;
    std::shared_ptr<const View> view_;
    std::chrono::steady_clock::time_point scanned_{};
    SizeCache sizes_;
    std::mutex files_mutex_;
    std::map<OpenFile*, std::unique_ptr<OpenFile>> files_;
};

MountState& state()
{
    return *static_cast<MountState*>(fuse_get_context()->private_data);
}

// "/name" -> "name"; nullopt for the root or anything deeper (the view is flat).
std::optional<std::string_view> leaf(const char* path)
{
    std::string_view p(path);
    if (p.size() < 2 || p[0] != '/' || p.find('/', 1) != std::string_view::npos) {
        return std::nullopt;
    }
    return p.substr(1);
}

// stat of a file in the dump dir (symlinks followed, like the scan); regular files only.
int stat_source(const std::string& name, struct stat* st)
{
    if (fstatat(state().dir_fd(), name.c_str(), st, 0) != 0) {
        return -errno;
    }
    return S_ISREG(st->st_mode) ? 0 : -ENOENT;
}

int op_getattr(const char* path, struct stat* st, struct fuse_file_info* /*fi*/)
{
    std::memset(st, 0, sizeof(*st));
    if (std::strcmp(path, "/") == 0) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        return 0;
    }
    const auto name = leaf(path);
    if (!name) {
        return -ENOENT;
    }
    const auto view = state().view();
    if (const ViewEntry* e = view->find(*name)) {
        if (e->kind == ViewKind::differential) {
            st->st_mode = S_IFREG | 0444;
            st->st_nlink = 1;
            st->st_size = static_cast<off_t>(e->size);
            st->st_mtime = st->st_ctime = st->st_atime = e->mtime;
            st->st_blksize = 1 << 20;
            st->st_blocks = static_cast<blkcnt_t>((e->size + 511) / 512);
            return 0;
        }
        const int rc = stat_source(e->source, st);
        if (rc == 0) {
            // Archives and logs are read-only here; notes and the marker can be changed.
            st->st_mode =
                S_IFREG | (e->kind == ViewKind::notes || e->kind == ViewKind::protected_marker ? 0644 : 0444);
            st->st_nlink = 1;
        }
        return rc;
    }
    // A notes temporary file being written, or a sidecar made since the last scan.
    if (const auto target = writable_sidecar(*view, *name)) {
        const int rc = stat_source(target->dump_dir_name, st);
        if (rc == 0) {
            st->st_mode = S_IFREG | 0644;
            st->st_nlink = 1;
        }
        return rc;
    }
    return -ENOENT;
}

int op_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t /*offset*/,
               struct fuse_file_info* /*fi*/, enum fuse_readdir_flags /*flags*/)
{
    if (std::strcmp(path, "/") != 0) {
        return -ENOTDIR;
    }
    fill(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    fill(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    const auto view = state().view();
    for (const auto& [name, entry] : view->entries) {
        if (fill(buf, name.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) {
            break;
        }
    }
    return 0;
}

int open_in_dump_dir(const std::string& name, int flags, mode_t mode, struct fuse_file_info* fi)
{
    // O_NONBLOCK: a FIFO planted under the name must not hang the FUSE thread.
    const int fd = openat(state().dir_fd(), name.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
    if (fd < 0) {
        return -errno;
    }
    auto f = std::make_unique<OpenFile>();
    f->fd.reset(fd);
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return -EACCES;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        return -errno;
    }
    fi->fh = reinterpret_cast<std::uint64_t>(state().add(std::move(f)));
    return 0;
}

bool wants_write(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0;
}

int op_open(const char* path, struct fuse_file_info* fi)
{
    const auto name = leaf(path);
    if (!name) {
        return -ENOENT;
    }
    MountState& s = state();
    const auto view = s.view();
    const ViewEntry* e = view->find(*name);
    if (wants_write(fi->flags)) {
        const auto target = writable_sidecar(*view, *name);
        if (!target || target->kind != ViewKind::notes) {
            return -EROFS;
        }
        s.changed();
        return open_in_dump_dir(target->dump_dir_name, fi->flags & (O_ACCMODE | O_TRUNC | O_APPEND), 0, fi);
    }
    if (!e) {
        if (const auto target = writable_sidecar(*view, *name)) {
            return open_in_dump_dir(target->dump_dir_name, O_RDONLY, 0, fi);
        }
        return -ENOENT;
    }
    if (e->kind != ViewKind::differential) {
        // Archives and sidecars alike: never through a link, regular files only.
        return open_in_dump_dir(e->source, O_RDONLY, 0, fi);
    }
    const fs::path full = s.options().dump_dir / e->full_file;
    const fs::path diff = s.options().dump_dir / e->source;
    const fs::path spill = s.options().spill_dir;
    auto producer = [full, diff, spill](io::ByteSink& out) {
        rebuild_archive(full.string(), diff.string(), out, spill, ContentHashes::none);
    };
    auto f = std::make_unique<OpenFile>();
    f->differential = diff.string();
    f->stream =
        std::make_unique<StreamedArchive>(diff.string(), e->size, std::move(producer), s.options().limits);
    fi->fh = reinterpret_cast<std::uint64_t>(s.add(std::move(f)));
    fi->keep_cache = 0;
    return 0;
}

int op_read(const char* /*path*/, char* buf, size_t size, off_t offset, struct fuse_file_info* fi)
{
    auto* f = reinterpret_cast<OpenFile*>(fi->fh);
    if (f->stream) {
        try {
            return static_cast<int>(f->stream->read(static_cast<std::uint64_t>(offset),
                                                    {reinterpret_cast<std::uint8_t*>(buf), size}));
        } catch (const std::exception& e) {
            if (!f->logged.test_and_set()) {
                state().log(
                    fmt::format("'{}' cannot be rebuilt, reads answer EIO: {}", f->differential, e.what()));
            }
            return -EIO;
        }
    }
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = pread(f->fd.get(), buf + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return static_cast<int>(done);
}

int op_write(const char* /*path*/, const char* buf, size_t size, off_t offset, struct fuse_file_info* fi)
{
    auto* f = reinterpret_cast<OpenFile*>(fi->fh);
    if (f->stream || (fi->flags & O_ACCMODE) == O_RDONLY) {
        return -EBADF;
    }
    const ssize_t n = pwrite(f->fd.get(), buf, size, offset);
    return n < 0 ? -errno : static_cast<int>(n);
}

int op_create(const char* path, mode_t /*mode*/, struct fuse_file_info* fi)
{
    const auto name = leaf(path);
    if (!name) {
        return -EROFS;
    }
    MountState& s = state();
    const auto target = writable_sidecar(*s.view(), *name);
    if (!target) {
        return -EROFS;
    }
    s.changed();
    const int access = target->kind == ViewKind::notes ? (fi->flags & O_ACCMODE) : O_RDONLY;
    return open_in_dump_dir(target->dump_dir_name, O_CREAT | access | (fi->flags & (O_EXCL | O_TRUNC)), 0644,
                            fi);
}

int op_truncate(const char* path, off_t size, struct fuse_file_info* fi)
{
    if (fi != nullptr && fi->fh != 0) {
        auto* f = reinterpret_cast<OpenFile*>(fi->fh);
        if (!f->stream && (fi->flags & O_ACCMODE) != O_RDONLY) {
            return ftruncate(f->fd.get(), size) == 0 ? 0 : -errno;
        }
        return -EROFS;
    }
    const auto name = leaf(path);
    const auto target = name ? writable_sidecar(*state().view(), *name) : std::nullopt;
    if (!target || target->kind != ViewKind::notes) {
        return -EROFS;
    }
    const int fd = openat(state().dir_fd(), target->dump_dir_name.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return -errno;
    }
    const io::Fd owned(fd);
    return ftruncate(fd, size) == 0 ? 0 : -errno;
}

int op_rename(const char* from, const char* to, unsigned int flags)
{
    const auto a = leaf(from);
    const auto b = leaf(to);
    if (!a || !b || flags != 0) {
        return -EROFS;
    }
    MountState& s = state();
    const auto view = s.view();
    const auto source = writable_sidecar(*view, *a);
    const auto target = writable_sidecar(*view, *b);
    // Only a notes temporary file over the notes of a backup (how PVE saves notes).
    if (!source || !target || source->kind != ViewKind::notes || target->kind != ViewKind::notes ||
        target->temporary) {
        return -EROFS;
    }
    s.changed();
    if (renameat(s.dir_fd(), source->dump_dir_name.c_str(), s.dir_fd(), target->dump_dir_name.c_str()) != 0) {
        return -errno;
    }
    return 0;
}

int op_unlink(const char* path)
{
    const auto name = leaf(path);
    MountState& s = state();
    const auto target = name ? writable_sidecar(*s.view(), *name) : std::nullopt;
    if (!target) {
        return -EROFS;
    }
    s.changed();
    return unlinkat(s.dir_fd(), target->dump_dir_name.c_str(), 0) == 0 ? 0 : -errno;
}

int op_release(const char* /*path*/, struct fuse_file_info* fi)
{
    state().remove(reinterpret_cast<OpenFile*>(fi->fh));
    return 0;
}

int op_statfs(const char* /*path*/, struct statvfs* st)
{
    return fstatvfs(state().dir_fd(), st) == 0 ? 0 : -errno;
}

int op_utimens(const char* path, const struct timespec tv[2], struct fuse_file_info* /*fi*/)
{
    // `touch` of a protected marker or notes: allowed on the sidecar itself.
    const auto name = leaf(path);
    const auto target = name ? writable_sidecar(*state().view(), *name) : std::nullopt;
    if (!target) {
        return -EROFS;
    }
    return utimensat(state().dir_fd(), target->dump_dir_name.c_str(), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0
                                                                                                    : -errno;
}

int op_refuse_path(const char* /*path*/)
{
    return -EROFS;
}
int op_refuse_mkdir(const char* /*path*/, mode_t /*mode*/)
{
    return -EROFS;
}
int op_refuse_link(const char* /*a*/, const char* /*b*/)
{
    return -EROFS;
}
int op_refuse_chmod(const char* /*path*/, mode_t /*mode*/, struct fuse_file_info* /*fi*/)
{
    return -EROFS;
}
int op_refuse_chown(const char* /*path*/, uid_t /*u*/, gid_t /*g*/, struct fuse_file_info* /*fi*/)
{
    return -EROFS;
}

void* op_init(struct fuse_conn_info* /*conn*/, struct fuse_config* cfg)
{
    // Sizes and names change only when the dump dir does: a second of attribute cache.
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 1.0;
    cfg->negative_timeout = 0.0;
    cfg->use_ino = 0;
    return fuse_get_context()->private_data;
}

fuse_operations make_operations()
{
    fuse_operations ops{};
    ops.init = op_init;
    ops.getattr = op_getattr;
    ops.readdir = op_readdir;
    ops.open = op_open;
    ops.read = op_read;
    ops.write = op_write;
    ops.create = op_create;
    ops.truncate = op_truncate;
    ops.rename = op_rename;
    ops.unlink = op_unlink;
    ops.release = op_release;
    ops.statfs = op_statfs;
    ops.utimens = op_utimens;
    ops.rmdir = op_refuse_path;
    ops.mkdir = op_refuse_mkdir;
    ops.symlink = op_refuse_link;
    ops.link = op_refuse_link;
    ops.chmod = op_refuse_chmod;
    ops.chown = op_refuse_chown;
    return ops;
}

// fuse_args owns strdup'ed strings: freed on every exit path.
struct Args {
    fuse_args args = FUSE_ARGS_INIT(0, nullptr);
    ~Args() { fuse_opt_free_args(&args); }
    void add(const std::string& a)
    {
        if (fuse_opt_add_arg(&args, a.c_str()) != 0) {
            throw std::bad_alloc();
        }
    }
};

struct Fuse {
    fuse* f = nullptr;
    bool mounted = false;
    ~Fuse()
    {
        if (f != nullptr) {
            if (mounted) {
                fuse_unmount(f);
            }
            fuse_destroy(f);
        }
    }
};

struct SignalHandlers {
    fuse_session* session;
    explicit SignalHandlers(fuse_session* s) : session(s)
    {
        if (fuse_set_signal_handlers(s) != 0) {
            throw io::Error("cannot install signal handlers");
        }
    }
    ~SignalHandlers() { fuse_remove_signal_handlers(session); }
    SignalHandlers(const SignalHandlers&) = delete;
    SignalHandlers& operator=(const SignalHandlers&) = delete;
};

}  // namespace

int mount(const MountOptions& given, const Report& report)
{
    MountOptions options = given;
    options.dump_dir = fs::absolute(options.dump_dir);
    options.mount_point = fs::absolute(options.mount_point);
    // --spill-dir, else tmpdir of the config (the caller's), else $TMPDIR or /tmp; one
    // that is missing fails here, not at the first read that spills.
    options.spill_dir = scratch_dir(options.spill_dir.string(), fs::temp_directory_path());
    if (!fs::is_directory(options.dump_dir)) {
        throw io::Error(fmt::format("'{}' is not a directory", options.dump_dir.string()));
    }
    if (!fs::is_directory(options.mount_point)) {
        throw io::Error(fmt::format("mount point '{}' is not a directory", options.mount_point.string()));
    }
    MountState st(options, !options.foreground);

    Args args;
    args.add("pvediff");
    args.add("-o");
    // Not "ro": the kernel would refuse the notes and marker writes PVE makes. Every
    // other change is refused by the operations themselves (EROFS).
    args.add(std::string("default_permissions,fsname=pvediff:") + options.dump_dir.string() +
             ",subtype=pvediff" + (options.allow_other ? ",allow_other" : ""));
    const fuse_operations ops = make_operations();
    Fuse fu;
    fu.f = fuse_new(&args.args, &ops, sizeof(ops), &st);
    if (fu.f == nullptr) {
        throw io::Error("cannot set up the FUSE file system (is fuse3 installed and /dev/fuse there?)");
    }
    if (fuse_mount(fu.f, options.mount_point.c_str()) != 0) {
        throw io::Error(fmt::format("cannot mount on '{}'", options.mount_point.string()));
    }
    fu.mounted = true;
    report("showing " + options.dump_dir.string() + " on " + options.mount_point.string());
    if (fuse_daemonize(options.foreground ? 1 : 0) != 0) {
        throw io::Error("cannot detach from the terminal");
    }
    if (!options.foreground) {
        openlog("pvediff", LOG_PID, LOG_DAEMON);
    }
    int rc = 0;
    {
        // The FUSE loop stops on SIGTERM, SIGINT and SIGHUP itself and unmounts the view
        // (and the daemon's child has no thread waiting for them anyway).
        const io::SignalHandover handover;
        SignalHandlers handlers(fuse_get_session(fu.f));
        fuse_loop_config* config = fuse_loop_cfg_create();
        if (config == nullptr) {
            throw std::bad_alloc();
        }
        fuse_loop_cfg_set_clone_fd(config, 0);
        fuse_loop_cfg_set_max_threads(config, 16);
        rc = fuse_loop_mt(fu.f, config);
        fuse_loop_cfg_destroy(config);
    }
    // Producers of files the kernel did not release (lazy unmount): stopped and joined.
    st.close_all();
    // The loop returns the signal's number when SIGTERM/SIGINT/SIGHUP ended it: a clean stop.
    return rc < 0 ? 1 : 0;
}

}  // namespace pvediff::commands
