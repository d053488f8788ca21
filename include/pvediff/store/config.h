// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// /etc/pvediff.conf (another path with --config), in the style of /etc/vzdump.conf:
//
//   # comments take a whole line (after a value, '#' is part of the value)
//   fullbackup: 7            days as a number ("1.5" = 36 h) or 36h, 2d, 2w;
//                            0 = pvediff leaves every archive a full (the default)
//   max-diff-ratio: 0.5      a differential larger than this share of its full is
//                            discarded and the archive stays a full; (0, 1], default 0.5
//   compress: same           codec of differentials: same (as the full; default),
//                            zstd, lzo, gzip or none
//   zstd-threads: 1          like vzdump's zstd setting; 0 = one per core; default 1
//   frame-fulls: 1           a VMA full in zstd that vzdump wrote is written again in
//                            zstd frames with its cluster records when it is kept
//                            (same content, checked before it replaces the file), so
//                            that restores read any part of it directly; 0 = leave
//                            vzdump's file as it is; default 1
//   engine: default          delta engine name, passed to the engine layer
//   lock-timeout: 3600       seconds (or 10m, 1h) to wait for the guest's lock; default 1 h
//   verify: content          every new differential is decoded again and its content
//                            checksum compared before the archive goes; the only level,
//                            and it cannot be switched off ("no" is refused). The value
//                            "structure" is still accepted for old files and does the same
//   verify-every: 30d        `pvediff verify` (without --all) checks a backup again when
//                            its last check is older (days as a number, or 2w, 36h);
//                            0 = every time; default 30 days
//   keep-last: 3             retention for `pvediff prune`, vzdump's keep-* options:
//   keep-hourly/-daily/-weekly/-monthly/-yearly: N, keep-all: 1,
//   prune-backups: keep-daily=7,keep-weekly=4   (vzdump's spelling, the same thing)
//   hook-script: /path       another vzdump hook script to run after pvediff's (global only)
//   hook-phase: log-end      when the hook converts: log-end (default) or backup-end
//   dumpdir: /mnt/a /mnt/b   dump dirs for commands run without one (global only)
//   tmpdir: /var/tmp         where scratch files go (unnamed: sorted index records, the
//                            encoder's set-aside bytes, the proof's pieces, a decoder's
//                            spill); default: beside the full, in the dump dir. A local
//                            disk spares an NFS dump dir that traffic (global only)
//   mount-source: /mnt/a/dump    `pvediff mount` without arguments (the systemd unit):
//   mount-point: /mnt/pvediff-view/dump   the dump dir shown and where (global only)
//
// Per-guest overrides are keys prefixed with `vmid-<ID>-`, e.g.
//   vmid-101-fullbackup: 0
//   vmid-101-keep-daily: 14
// (flat keys rather than [sections]: the file stays a plain vzdump.conf-style list
// that grep and sed handle, and one line says everything about the override).
//
// Unknown keys, repeated keys and bad values are errors naming the file and line.
// Retention is one unit: where any keep-* (or prune-backups) is given, it replaces
// the retention of the layer below as a whole, like vzdump's prune-backups does
// (a guest's `vmid-101-keep-daily: 14` does not inherit the global keep-weekly).
// Layers, lowest first: defaults, global keys, the guest's keys, the command line
// (the caller builds a Settings from its options and passes it to effective_for).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pvediff/io/codec.h"

namespace pvediff::store {

inline constexpr const char* default_config_path = "/etc/pvediff.conf";

enum class CompressChoice { same, none, zstd, lzo, gzip };
enum class VerifyLevel { content, structure };
enum class HookPhase { log_end, backup_end };

std::string_view compress_choice_name(CompressChoice c);
std::string_view verify_level_name(VerifyLevel v);
std::string_view hook_phase_name(HookPhase p);
// The codec of a new differential: the full's for `same`.
io::Codec differential_codec(CompressChoice choice, io::Codec full_codec);

// vzdump's keep-* options. Nothing set (or keep-all) keeps everything.
struct KeepOptions {
    unsigned last = 0;
    unsigned hourly = 0;
    unsigned daily = 0;
    unsigned weekly = 0;
    unsigned monthly = 0;
    unsigned yearly = 0;
    bool all = false;

    [[nodiscard]] bool keeps_everything() const;
    // "keep-last=3,keep-daily=7" (vzdump's spelling) or "keep-all=1".
    [[nodiscard]] std::string str() const;
    friend bool operator==(const KeepOptions&, const KeepOptions&) = default;
};
// vzdump's "keep-last=3,keep-daily=7"; throws io::Error without position.
KeepOptions parse_keep_options(std::string_view text);

// One layer of settings: what it does not set comes from the layer below.
struct Settings {
    std::optional<std::chrono::seconds> fullbackup;
    std::optional<double> max_diff_ratio;
    std::optional<CompressChoice> compress;
    std::optional<int> zstd_threads;
    std::optional<bool> frame_fulls;
    std::optional<std::string> engine;
    std::optional<std::chrono::seconds> lock_timeout;
    std::optional<VerifyLevel> verify;
    std::optional<std::chrono::seconds> verify_every;
    std::optional<KeepOptions> keep;
    std::optional<std::string> hook_script;
    std::optional<HookPhase> hook_phase;
    std::optional<std::vector<std::string>> dumpdirs;
    std::optional<std::string> mount_source;
    std::optional<std::string> mount_point;
    std::optional<std::string> tmpdir;
};

// Every setting decided: defaults filled in.
struct EffectiveSettings {
    std::chrono::seconds fullbackup{0};
    double max_diff_ratio = 0.5;
    CompressChoice compress = CompressChoice::same;
    int zstd_threads = 1;
    bool frame_fulls = true;
    std::string engine = "default";
    std::chrono::seconds lock_timeout{3600};
    VerifyLevel verify = VerifyLevel::content;
    std::chrono::seconds verify_every{std::chrono::hours(24 * 30)};
    KeepOptions keep;         // keep everything
    std::string hook_script;  // empty: none
    HookPhase hook_phase = HookPhase::log_end;
    std::vector<std::string> dumpdirs;
    std::string mount_source;  // empty: not set
    std::string mount_point;
    std::string tmpdir;  // empty: scratch files beside the full (commands/scratch_dir.h)
};

struct Config {
    std::filesystem::path path;  // where it was read from; empty when defaults only
    Settings global;
    std::map<std::uint32_t, Settings> per_vmid;

    // defaults < global < the guest's overrides < `command_line`.
    [[nodiscard]] EffectiveSettings effective_for(std::uint32_t vmid,
                                                  const Settings& command_line = {}) const;
    // defaults < global < `command_line`, for commands that concern no one guest.
    [[nodiscard]] EffectiveSettings effective_global(const Settings& command_line = {}) const;
};

// `top` wins where it sets something; retention as one unit (see above).
Settings merge_settings(const Settings& base, const Settings& top);
EffectiveSettings resolve_settings(const Settings& settings);

// Sets one key (the file's spelling, e.g. "fullbackup", "keep-daily") in `s`: for the
// file and for command-line options alike. Throws io::Error without position
// ("unknown key 'x'", "bad value for fullbackup: 'x' (expected ...)").
void apply_setting(Settings& s, std::string_view key, std::string_view value);

// `origin` names the file in messages: "'/etc/pvediff.conf': line 7: unknown key 'x'".
Config parse_config(std::string_view text, const std::string& origin);
// A missing file is an empty config unless `must_exist` (a path the user gave).
Config load_config(const std::filesystem::path& path = default_config_path, bool must_exist = false);

}  // namespace pvediff::store
