// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/demo.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "pvediff/commands/backup.h"
#include "pvediff/commands/list.h"
#include "pvediff/commands/make_vma.h"
#include "pvediff/commands/prune.h"
#include "pvediff/commands/restore.h"
#include "pvediff/commands/verify.h"
#include "pvediff/formats/tar_writer.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/codec.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

// Text-like content that compresses like real files do, reproducible from a seed.
void fill(std::vector<std::uint8_t>& buf, std::mt19937& rng)
{
    static constexpr std::string_view words[] = {"proxmox ", "cluster ", "backup ",  "guest ",
                                                 "kernel ",  "storage ", "network ", "\n",
                                                 "config ",  "1234 ",    "service "};
    for (std::size_t i = 0; i < buf.size();) {
        const auto w = words[rng() % std::size(words)];
        for (std::size_t k = 0; k < w.size() && i < buf.size(); ++k) {
            buf[i++] = static_cast<std::uint8_t>(w[k]);
        }
    }
}

class TempDir {
public:
    explicit TempDir(const std::optional<fs::path>& keep)
    {
        if (keep) {
            path_ = *keep;
            fs::create_directories(path_);
            keep_ = true;
            return;
        }
        std::string templ = (fs::temp_directory_path() / "pvediff-demo-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) {
            io::throw_errno("create", templ, errno);
        }
        path_ = templ;
    }
    ~TempDir()
    {
        if (!keep_) {
            std::error_code ec;
            fs::remove_all(path_, ec);
        }
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
    bool keep_ = false;
};

void write_compressed(const fs::path& path, const std::function<void(io::ByteSink&)>& produce)
{
    io::AtomicFile out(path);
    auto z = io::make_compressor(out.sink(), io::Codec::zstd);
    produce(*z);
    z->finish();
    out.commit();
}

std::uint64_t total_size(const fs::path& dir, bool differentials)
{
    std::uint64_t sum = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        const bool is_diff = store::parse_differential_name(n).has_value();
        const bool is_full = !is_diff && store::parse_backup_name(n).has_value();
        if ((differentials && is_diff) || (!differentials && is_full)) {
            sum += e.file_size();
        }
    }
    return sum;
}

}  // namespace

bool run_demo(const DemoOptions& options, const Report& say)
{
    TempDir tmp(options.keep_dir);
    const fs::path dump = tmp.path() / "dump";
    fs::create_directories(dump);
    say(fmt::format("demo dump dir: {} (fullbackup: 3 days, {} nightly backups of VM 100 and container 200)",
                    dump.string(), options.days));

    store::EffectiveSettings settings;
    settings.fullbackup = std::chrono::hours(72);
    settings.lock_timeout = std::chrono::seconds(10);

    // The VM's disk: generated files, some zero space; each night a few pages change.
    const fs::path disk = tmp.path() / "vm-100-disk-0.raw";
    std::mt19937 rng(100);
    {
        io::Fd fd = io::open_fd(disk.string(), O_RDWR | O_CREAT | O_TRUNC, 0600);
        std::vector<std::uint8_t> buf(1 << 20);
        for (std::uint64_t off = 0; off < options.disk_bytes * 3 / 4; off += buf.size()) {
            fill(buf, rng);
            io::pwrite_all(fd.get(), buf, off, disk.string());
        }
        if (::ftruncate(fd.get(), static_cast<off_t>(options.disk_bytes)) != 0) {
            io::throw_errno("resize", disk.string(), errno);
        }
    }
    std::uint64_t raw_total = 0;
    std::uint64_t vzdump_would = 0;
    const std::time_t day0 = std::time(nullptr) - static_cast<std::time_t>(options.days) * 86400;
    for (unsigned day = 0; day < options.days; ++day) {
        const std::time_t t = day0 + static_cast<std::time_t>(day) * 86400;
        const store::BackupTime when = store::backup_time_from_instant(t);
        {
            io::Fd fd = io::open_fd(disk.string(), O_RDWR);
            std::vector<std::uint8_t> page(4096);
            for (int i = 0; i < 40; ++i) {
                fill(page, rng);
                io::pwrite_all(fd.get(), page, (rng() % (options.disk_bytes / 4096)) * 4096, disk.string());
            }
        }
        store::BackupName vm{store::GuestType::qemu, 100, when, store::ArchiveFormat::vma,
                             store::ArchiveCodec::zstd};
        const fs::path vm_file = dump / store::format_backup_name(vm);
        write_compressed(vm_file, [&](io::ByteSink& sink) {
            MakeVmaOptions o;
            o.image = disk;
            o.order_seed = day;
            o.ctime = t;
            make_vma(o, sink);
        });
        // The container: a small tree; a log grows, a file is added early, one rewritten.
        store::BackupName ct{store::GuestType::lxc, 200, when, store::ArchiveFormat::tar,
                             store::ArchiveCodec::zstd};
        const fs::path ct_file = dump / store::format_backup_name(ct);
        write_compressed(ct_file, [&](io::ByteSink& sink) {
            formats::TarWriter tar(sink);
            std::mt19937 files(7);
            std::vector<std::uint8_t> content;
            tar.add_directory("etc", t);
            for (unsigned k = 0; k < day; ++k) {
                content.assign(20000 + k * 1000, 0);
                fill(content, files);
                tar.add_file("etc/added-on-day-" + std::to_string(k), content, t);
            }
            for (int k = 0; k < 200; ++k) {
                content.assign(30000 + static_cast<std::size_t>(k) * 100, 0);
                fill(content, files);
                if (k == static_cast<int>(day % 7)) {
                    fill(content, rng);  // rewritten today
                }
                tar.add_file("usr/share/file-" + std::to_string(k), content, t);
            }
            content.assign(10000 + day * 5000, 'L');
            tar.add_file("var/log/syslog", content, t);
            tar.finish();
        });
        vzdump_would += fs::file_size(vm_file) + fs::file_size(ct_file);
        for (const auto& f : {vm_file, ct_file}) {
            const auto r = backup_archive(f, settings, say);
            raw_total += r.content_size;
        }
    }

    bool ok = true;
    say("--- list");
    for (const auto& r : list_dump_dir(dump, std::nullopt).rows) {
        char line[256];
        std::snprintf(line, sizeof line, "%-9s %-13s %10s  %s", r.guest.c_str(), r.kind.c_str(),
                      human_bytes(r.size).c_str(), r.file.c_str());
        say(line);
    }
    say("--- verify");
    const VerifyReport verified = verify_paths({dump}, [](const std::string&) {});
    for (const auto& i : verified.items) {
        say((i.ok ? "ok     " : "FAILED ") + i.file + "  " + i.content + ", " + i.structure);
    }
    ok = ok && verified.ok();

    say("--- restore the newest differential of VM 100 as a standard-named archive");
    for (const auto& r : list_dump_dir(dump, 100).rows) {
        if (r.kind == "differential") {
            RestoreOptions ro;
            ro.file = dump / r.file;
            ro.pve_dir = tmp.path() / "restored";
            fs::create_directories(*ro.pve_dir);
            const auto res = restore(ro, say);
            ok = ok && res.checked_against_manifest;
            say("written " + res.written.filename().string());
            break;
        }
    }
    const std::uint64_t fulls = total_size(dump, false);
    const std::uint64_t diffs = total_size(dump, true);
    say("--- prune --keep-daily 4 (chain-aware)");
    PruneRequest pr;
    pr.dir = dump;
    pr.keep_for = [](std::uint32_t) {
        store::KeepOptions k;
        k.daily = 4;
        return k;
    };
    prune(pr, say);

    say(fmt::format(
        "--- space: vzdump alone would keep {} for these {} backups; pvediff kept {} of fulls + {} of "
        "differentials before pruning and verified every one ({} of archive content)",
        human_bytes(vzdump_would), options.days * 2, human_bytes(fulls), human_bytes(diffs),
        human_bytes(raw_total)));
    say(ok ? "demo: all checks passed" : "demo: SOMETHING FAILED");
    return ok;
}

}  // namespace pvediff::commands
