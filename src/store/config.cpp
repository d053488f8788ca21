// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <set>

#include "kv_lines.h"
#include "pvediff/io/error.h"
#include "pvediff/io/parse_number.h"
#include "pvediff/store/duration.h"

namespace pvediff::store {
namespace {

constexpr std::size_t config_max_size = std::size_t{1} << 20;
constexpr std::string_view vmid_prefix = "vmid-";

[[noreturn]] void bad_value(std::string_view key, std::string_view value, const std::string& expected)
{
    throw io::Error(fmt::format("bad value for {}: '{}' (expected {})", key, value, expected));
}

// A switch, spelled as PVE's own configs accept it (its JSON schema's booleans).
bool parse_flag(std::string_view key, std::string_view v)
{
    std::string lower(v);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "1" || lower == "yes" || lower == "on" || lower == "true") {
        return true;
    }
    if (lower == "0" || lower == "no" || lower == "off" || lower == "false") {
        return false;
    }
    bad_value(key, v, "1 or 0 (yes/no, on/off, true/false)");
}

unsigned parse_count(std::string_view key, std::string_view v, unsigned max)
{
    const auto n = io::parse_number<unsigned>(v);
    if (!n || *n > max) {
        bad_value(key, v, fmt::format("a whole number from 0 to {}", max));
    }
    return *n;
}

// Keys that make no sense for one guest.
bool global_only(std::string_view key)
{
    return key == "hook-script" || key == "hook-phase" || key == "dumpdir" || key == "mount-source" ||
           key == "mount-point" || key == "tmpdir";
}

bool is_retention_key(std::string_view key)
{
    return key.starts_with("keep-") || key == "prune-backups";
}

void set_keep(KeepOptions& k, std::string_view key, std::string_view value)
{
    constexpr unsigned max_keep = 1000000;
    if (key == "keep-all") {
        k.all = parse_flag(key, value);
    } else if (key == "keep-last") {
        k.last = parse_count(key, value, max_keep);
    } else if (key == "keep-hourly") {
        k.hourly = parse_count(key, value, max_keep);
    } else if (key == "keep-daily") {
        k.daily = parse_count(key, value, max_keep);
    } else if (key == "keep-weekly") {
        k.weekly = parse_count(key, value, max_keep);
    } else if (key == "keep-monthly") {
        k.monthly = parse_count(key, value, max_keep);
    } else if (key == "keep-yearly") {
        k.yearly = parse_count(key, value, max_keep);
    } else {
        throw io::Error(fmt::format("unknown key '{}'", key));
    }
}

void check_keep(const KeepOptions& k)
{
    if (k.all && (k.last || k.hourly || k.daily || k.weekly || k.monthly || k.yearly)) {
        throw io::Error("keep-all: 1 cannot be combined with other keep-* options");
    }
}

}  // namespace

std::string_view compress_choice_name(CompressChoice c)
{
    switch (c) {
        case CompressChoice::same:
            return "same";
        case CompressChoice::none:
            return "none";
        case CompressChoice::zstd:
            return "zstd";
        case CompressChoice::lzo:
            return "lzo";
        case CompressChoice::gzip:
            return "gzip";
    }
    return "?";
}

std::string_view verify_level_name(VerifyLevel v)
{
    return v == VerifyLevel::content ? "content" : "structure";
}

std::string_view hook_phase_name(HookPhase p)
{
    return p == HookPhase::log_end ? "log-end" : "backup-end";
}

io::Codec differential_codec(CompressChoice choice, io::Codec full_codec)
{
    switch (choice) {
        case CompressChoice::same:
            return full_codec;
        case CompressChoice::none:
            return io::Codec::none;
        case CompressChoice::zstd:
            return io::Codec::zstd;
        case CompressChoice::lzo:
            return io::Codec::lzo;
        case CompressChoice::gzip:
            return io::Codec::gzip;
    }
    return full_codec;
}

bool KeepOptions::keeps_everything() const
{
    return all || (last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0);
}

std::string KeepOptions::str() const
{
    if (keeps_everything()) {
        return "keep-all=1";
    }
    std::string out;
    auto add = [&out](const char* name, unsigned n) {
        if (n != 0) {
            out += (out.empty() ? "" : ",") + std::string(name) + "=" + std::to_string(n);
        }
    };
    add("keep-last", last);
    add("keep-hourly", hourly);
    add("keep-daily", daily);
    add("keep-weekly", weekly);
    add("keep-monthly", monthly);
    add("keep-yearly", yearly);
    return out;
}

KeepOptions parse_keep_options(std::string_view text)
{
    KeepOptions k;
    std::set<std::string, std::less<>> seen;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos || !item.starts_with("keep-")) {
            bad_value("prune-backups", item, "keep-<period>=<count>, comma-separated");
        }
        const std::string_view key = item.substr(0, eq);
        if (!seen.insert(std::string(key)).second) {
            throw io::Error(fmt::format("prune-backups: '{}' given twice", key));
        }
        set_keep(k, key, item.substr(eq + 1));
    }
    check_keep(k);
    return k;
}

void apply_setting(Settings& s, std::string_view key, std::string_view v)
{
    if (key == "fullbackup") {
        const auto d = parse_duration(v, std::chrono::hours(24));
        if (!d) {
            bad_value(key, v, "days as a number, or a duration like 36h, 2d, 2w");
        }
        s.fullbackup = *d;
    } else if (key == "max-diff-ratio") {
        const auto r = io::parse_number<double>(v);
        if (!r || !(*r > 0.0) || *r > 1.0) {
            bad_value(key, v, "a number above 0 and at most 1, like 0.5");
        }
        s.max_diff_ratio = *r;
    } else if (key == "compress") {
        CompressChoice c{};
        if (v == "same") {
            c = CompressChoice::same;
        } else if (v == "none" || v == "0") {
            c = CompressChoice::none;
        } else if (v == "zstd") {
            c = CompressChoice::zstd;
        } else if (v == "lzo" || v == "1") {
            c = CompressChoice::lzo;  // vzdump's "compress: 1" means lzo
        } else if (v == "gzip") {
            c = CompressChoice::gzip;
        } else {
            bad_value(key, v, "same, zstd, lzo, gzip or none");
        }
        s.compress = c;
    } else if (key == "zstd-threads") {
        s.zstd_threads = static_cast<int>(parse_count(key, v, 256));
    } else if (key == "frame-fulls") {
        s.frame_fulls = parse_flag(key, v);
    } else if (key == "engine") {
        if (v.empty() ||
            v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string_view::npos) {
            bad_value(key, v, "an engine name");
        }
        s.engine = std::string(v);
    } else if (key == "lock-timeout") {
        const auto d = parse_duration(v, std::chrono::seconds(1));
        if (!d) {
            bad_value(key, v, "seconds, or a duration like 10m, 1h");
        }
        s.lock_timeout = *d;
    } else if (key == "verify-every") {
        const auto d = parse_duration(v, std::chrono::hours(24));
        if (!d) {
            bad_value(key, v, "days, or a duration like 2w, 36h; 0 = every time");
        }
        s.verify_every = *d;
    } else if (key == "verify") {
        if (v == "content" || v == "yes" || v == "1") {
            s.verify = VerifyLevel::content;
        } else if (v == "structure") {
            s.verify = VerifyLevel::structure;
        } else if (v == "no" || v == "0") {
            throw io::Error(
                "verify cannot be switched off: a full is only replaced once its differential "
                "has been decoded and checked (use content or structure)");
        } else {
            bad_value(key, v, "content or structure");
        }
    } else if (key == "prune-backups") {
        s.keep = parse_keep_options(v);
    } else if (key.starts_with("keep-")) {
        KeepOptions k = s.keep.value_or(KeepOptions{});
        set_keep(k, key, v);
        check_keep(k);
        s.keep = k;
    } else if (key == "hook-script") {
        if (!v.starts_with('/')) {
            bad_value(key, v, "an absolute path: vzdump runs hooks without PATH");
        }
        s.hook_script = std::string(v);
    } else if (key == "hook-phase") {
        if (v == "log-end") {
            s.hook_phase = HookPhase::log_end;
        } else if (v == "backup-end") {
            s.hook_phase = HookPhase::backup_end;
        } else {
            bad_value(key, v, "log-end or backup-end");
        }
    } else if (key == "dumpdir") {
        std::vector<std::string> dirs;
        std::size_t pos = 0;
        while (pos < v.size()) {
            const auto end = std::min(v.find_first_of(" \t", pos), v.size());
            if (end > pos) {
                const std::string_view dir = v.substr(pos, end - pos);
                if (!dir.starts_with('/')) {
                    bad_value(key, dir, "absolute paths separated by spaces");
                }
                dirs.emplace_back(dir);
            }
            pos = end + 1;
        }
        if (dirs.empty()) {
            bad_value(key, v, "absolute paths separated by spaces");
        }
        s.dumpdirs = std::move(dirs);
    } else if (key == "mount-source" || key == "mount-point" || key == "tmpdir") {
        if (!v.starts_with('/')) {
            bad_value(key, v, "an absolute path");
        }
        std::optional<std::string>& path = key == "tmpdir"         ? s.tmpdir
                                           : key == "mount-source" ? s.mount_source
                                                                   : s.mount_point;
        path = std::string(v);
    } else {
        throw io::Error(fmt::format("unknown key '{}'", key));
    }
}

Settings merge_settings(const Settings& base, const Settings& top)
{
    Settings out = base;
    auto take = [](auto& dst, const auto& src) {
        if (src) {
            dst = src;
        }
    };
    take(out.fullbackup, top.fullbackup);
    take(out.max_diff_ratio, top.max_diff_ratio);
    take(out.compress, top.compress);
    take(out.zstd_threads, top.zstd_threads);
    take(out.frame_fulls, top.frame_fulls);
    take(out.engine, top.engine);
    take(out.lock_timeout, top.lock_timeout);
    take(out.verify_every, top.verify_every);
    take(out.verify, top.verify);
    take(out.keep, top.keep);  // as a whole: see config.h
    take(out.hook_script, top.hook_script);
    take(out.hook_phase, top.hook_phase);
    take(out.dumpdirs, top.dumpdirs);
    take(out.mount_source, top.mount_source);
    take(out.mount_point, top.mount_point);
    take(out.tmpdir, top.tmpdir);
    return out;
}

EffectiveSettings resolve_settings(const Settings& s)
{
    EffectiveSettings e;
    e.fullbackup = s.fullbackup.value_or(e.fullbackup);
    e.max_diff_ratio = s.max_diff_ratio.value_or(e.max_diff_ratio);
    e.compress = s.compress.value_or(e.compress);
    e.zstd_threads = s.zstd_threads.value_or(e.zstd_threads);
    e.frame_fulls = s.frame_fulls.value_or(e.frame_fulls);
    e.engine = s.engine.value_or(e.engine);
    e.lock_timeout = s.lock_timeout.value_or(e.lock_timeout);
    e.verify_every = s.verify_every.value_or(e.verify_every);
    e.verify = s.verify.value_or(e.verify);
    e.keep = s.keep.value_or(e.keep);
    e.hook_script = s.hook_script.value_or(e.hook_script);
    e.hook_phase = s.hook_phase.value_or(e.hook_phase);
    e.dumpdirs = s.dumpdirs.value_or(e.dumpdirs);
    e.mount_source = s.mount_source.value_or(e.mount_source);
    e.mount_point = s.mount_point.value_or(e.mount_point);
    e.tmpdir = s.tmpdir.value_or(e.tmpdir);
    return e;
}

EffectiveSettings Config::effective_for(std::uint32_t vmid, const Settings& command_line) const
{
    Settings s = global;
    if (const auto it = per_vmid.find(vmid); it != per_vmid.end()) {
        s = merge_settings(s, it->second);
    }
    return resolve_settings(merge_settings(s, command_line));
}

EffectiveSettings Config::effective_global(const Settings& command_line) const
{
    return resolve_settings(merge_settings(global, command_line));
}

Config parse_config(std::string_view text, const std::string& origin)
{
    Config c;
    c.path = origin;
    // Per scope (0 = global, else the VMID): keys seen, with their line, to refuse
    // repeats and a mix of prune-backups with keep-*.
    std::map<std::uint64_t, std::map<std::string, std::size_t>> seen;
    for (const auto& l : detail::parse_kv_lines(text, origin)) {
        std::string_view key = l.key;
        std::uint64_t scope = 0;
        Settings* target = &c.global;
        if (key.starts_with(vmid_prefix)) {
            const auto rest = key.substr(vmid_prefix.size());
            const auto dash = rest.find('-');
            const auto vmid = dash == std::string_view::npos
                                  ? std::nullopt
                                  : io::parse_number<std::uint32_t>(rest.substr(0, dash));
            if (!vmid || rest[0] == '0' || dash + 1 >= rest.size()) {
                detail::throw_line_error(origin, l.line,
                                         "bad key '" + l.key + "' (expected vmid-<ID>-<key>)");
            }
            key = rest.substr(dash + 1);
            if (global_only(key)) {
                detail::throw_line_error(origin, l.line, fmt::format("'{}' cannot be set per guest", key));
            }
            scope = *vmid;
            target = &c.per_vmid[*vmid];
        }
        auto& keys = seen[scope];
        const std::string key_str(key);
        if (const auto it = keys.find(key_str); it != keys.end()) {
            detail::throw_line_error(origin, l.line,
                                     fmt::format("'{}' given twice (first on line {})", l.key, it->second));
        }
        if (is_retention_key(key)) {
            const bool has_prune = keys.contains("prune-backups");
            const bool has_keep = std::any_of(keys.begin(), keys.end(),
                                              [](const auto& kv) { return kv.first.starts_with("keep-"); });
            if ((key == "prune-backups" && has_keep) || (key != "prune-backups" && has_prune)) {
                detail::throw_line_error(origin, l.line,
                                         "use either prune-backups or keep-* options, not both");
            }
        }
        keys.emplace(key_str, l.line);
        try {
            apply_setting(*target, key, l.value);
        } catch (const io::Error& e) {
            detail::throw_line_error(origin, l.line, e.what());
        }
    }
    return c;
}

Config load_config(const std::filesystem::path& path, bool must_exist)
{
    std::error_code ec;
    if (!must_exist && !std::filesystem::exists(path, ec) && !ec) {
        return Config{};
    }
    const std::string text = detail::read_small_file(path.string(), config_max_size);
    return parse_config(text, path.string());
}

}  // namespace pvediff::store
