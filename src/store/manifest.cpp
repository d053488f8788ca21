// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/store/manifest.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <map>

#include "kv_lines.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/dir_handle.h"
#include "pvediff/io/error.h"
#include "pvediff/io/parse_number.h"
#include "pvediff/store/entry_name.h"
#include "pvediff/store/names.h"

namespace pvediff::store {
namespace {

constexpr std::string_view sha256_key = "content-sha256";
constexpr std::string_view vma_items_key = "content-vma-items-sha256";
constexpr std::array<std::string_view, 17> known_keys = {"format-version",
                                                         "kind",
                                                         "file",
                                                         "codec",
                                                         "content-size",
                                                         sha256_key,
                                                         vma_items_key,
                                                         "full-name",
                                                         "full-content-size",
                                                         "full-content-sha256",
                                                         "engine",
                                                         "copied-bytes",
                                                         "literal-bytes",
                                                         "windows",
                                                         "delta-bytes",
                                                         "created",
                                                         "pvediff-version"};
constexpr std::array<std::string_view, 7> delta_keys = {
    "full-name", "full-content-size", "full-content-sha256", "engine", "copied-bytes", "literal-bytes",
    "windows"};
// And exactly one of sha256_key and vma_items_key.
constexpr std::array<std::string_view, 7> required_keys = {
    "kind", "file", "codec", "content-size", "created", "pvediff-version", "format-version"};

std::string_view content_digest_key(ContentDigest kind)
{
    return kind == ContentDigest::vma_items ? vma_items_key : sha256_key;
}

// The item digest is defined for a VMA only, and only a differential written from a
// cluster plan needs it (a full is always read whole).
bool may_use_vma_items(const Manifest& m)
{
    if (!m.delta) {
        return false;
    }
    const auto full = parse_backup_name(m.delta->full_name);
    return full && full->format == ArchiveFormat::vma;
}

bool is_known(std::string_view key)
{
    return std::find(known_keys.begin(), known_keys.end(), key) != known_keys.end();
}

std::string format_utc(std::time_t t)
{
    std::tm tm{};
    if (::gmtime_r(&t, &tm) == nullptr) {
        throw io::Error(fmt::format("cannot format time {}", t));
    }
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::optional<std::time_t> parse_utc(std::string_view s)
{
    // YYYY-MM-DDTHH:MM:SSZ
    if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != 'Z') {
        return std::nullopt;
    }
    auto num = [&](std::size_t pos, std::size_t len, int& out) {
        const auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
        return ec == std::errc() && p == s.data() + pos + len && s[pos] != '-' && s[pos] != '+';
    };
    std::tm tm{};
    int year = 0;
    int month = 0;
    if (!num(0, 4, year) || !num(5, 2, month) || !num(8, 2, tm.tm_mday) || !num(11, 2, tm.tm_hour) ||
        !num(14, 2, tm.tm_min) || !num(17, 2, tm.tm_sec)) {
        return std::nullopt;
    }
    if (year < 1970 || month < 1 || month > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60) {
        return std::nullopt;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    return ::timegm(&tm);
}

bool has_line_break(std::string_view s)
{
    return s.find_first_of("\r\n") != std::string_view::npos;
}

class Reader {
public:
    Reader(const std::string& origin, std::vector<detail::KvLine> lines)
        : origin_(origin), lines_(std::move(lines))
    {
        for (const auto& l : lines_) {
            if (!by_key_.emplace(l.key, &l).second) {
                detail::throw_line_error(origin_, l.line, "duplicate key '" + l.key + "'");
            }
        }
    }

    [[nodiscard]] bool has(std::string_view key) const { return by_key_.contains(std::string(key)); }

    const detail::KvLine& get(std::string_view key) const
    {
        const auto it = by_key_.find(std::string(key));
        if (it == by_key_.end()) {
            throw io::file_error(origin_, "missing key '{}'", key);
        }
        return *it->second;
    }

    std::uint64_t number(std::string_view key) const
    {
        const auto& l = get(key);
        const auto n = io::parse_number<std::uint64_t>(l.value);
        if (!n) {
            fail(l, fmt::format("bad {} '{}' (expected a whole number)", l.key, l.value));
        }
        return *n;
    }

    io::Digest digest(std::string_view key) const
    {
        const auto& l = get(key);
        try {
            return io::digest_from_hex(l.value);
        } catch (const io::Error&) {
            fail(l, fmt::format("bad {} '{}' (expected 64 hex digits)", l.key, l.value));
        }
    }

    std::string text(std::string_view key) const
    {
        const auto& l = get(key);
        if (l.value.empty()) {
            fail(l, "empty " + l.key);
        }
        return l.value;
    }

    [[noreturn]] void fail(const detail::KvLine& l, const std::string& message) const
    {
        detail::throw_line_error(origin_, l.line, message);
    }

    [[nodiscard]] const std::vector<detail::KvLine>& lines() const { return lines_; }

private:
    const std::string& origin_;
    std::vector<detail::KvLine> lines_;
    std::map<std::string, const detail::KvLine*> by_key_;
};

}  // namespace

std::string_view content_digest_name(ContentDigest kind)
{
    return kind == ContentDigest::vma_items ? "vma-items" : "sha256";
}

std::string_view content_digest_label(ContentDigest kind)
{
    return kind == ContentDigest::vma_items ? "content digest (VMA items)" : "content SHA-256";
}

std::string format_manifest(const Manifest& m)
{
    auto check = [](std::string_view what, std::string_view value) {
        if (value.empty() || has_line_break(value)) {
            throw io::Error(fmt::format("cannot write manifest: bad {} '{}'", what, value));
        }
    };
    check("file", m.file);
    check("pvediff-version", m.pvediff_version);
    std::string o;
    auto put = [&o](std::string_view key, const std::string& value) {
        o += key;
        o += ": ";
        o += value;
        o += '\n';
    };
    put("format-version", std::to_string(manifest_format_version));
    put("kind", m.delta ? "differential" : "full");
    put("file", m.file);
    put("codec", std::string(io::codec_name(m.codec)));
    put("content-size", std::to_string(m.content_size));
    if (m.content_digest == ContentDigest::vma_items && !may_use_vma_items(m)) {
        throw io::Error(
            fmt::format("cannot write manifest of '{}': a VMA item digest belongs only to a "
                        "differential of a VMA",
                        m.file));
    }
    put(content_digest_key(m.content_digest), io::to_hex(m.content_sha256));
    if (m.delta) {
        const DeltaInfo& d = *m.delta;
        check("full-name", d.full_name);
        check("engine", d.engine);
        put("full-name", d.full_name);
        put("full-content-size", std::to_string(d.full_content_size));
        put("full-content-sha256", io::to_hex(d.full_content_sha256));
        put("engine", d.engine);
        put("copied-bytes", std::to_string(d.copied_bytes));
        put("literal-bytes", std::to_string(d.literal_bytes));
        put("windows", std::to_string(d.windows));
        put("delta-bytes", std::to_string(d.delta_bytes));
    }
    put("created", format_utc(m.created));
    put("pvediff-version", m.pvediff_version);
    for (const auto& [key, value] : m.unknown) {
        // Exactly the keys the reader can return: only a leading '#' makes a comment,
        // so "a#b" read from a newer pvediff's manifest must be written back too.
        if (is_known(key) || key.empty() || key.front() == '#' ||
            key.find_first_of(": \t\r\n") != std::string::npos || has_line_break(value)) {
            throw io::Error(fmt::format("cannot write manifest: bad extra key '{}'", key));
        }
        put(key, value);
    }
    return o;
}

Manifest parse_manifest(std::string_view text, const std::string& origin)
{
    Reader r(origin, detail::parse_kv_lines(text, origin));
    if (r.lines().empty()) {
        throw io::file_error(origin, "empty manifest");
    }
    // The version comes first so a future format can change everything after it.
    const auto& first = r.lines().front();
    if (first.key != "format-version") {
        r.fail(first, fmt::format("expected 'format-version' first, found '{}'", first.key));
    }
    if (first.value != std::to_string(manifest_format_version)) {
        r.fail(first, fmt::format("unsupported manifest format-version '{}' (this pvediff reads {})",
                                  first.value, manifest_format_version));
    }
    for (const auto key : required_keys) {
        (void)r.get(key);
    }
    Manifest m;
    const auto& kind = r.get("kind");
    if (kind.value != "full" && kind.value != "differential") {
        r.fail(kind, fmt::format("bad kind '{}' (expected full or differential)", kind.value));
    }
    m.file = r.text("file");
    if (m.file.find('/') != std::string::npos) {
        r.fail(r.get("file"), fmt::format("bad file '{}' (expected a file name)", m.file));
    }
    const auto& codec = r.get("codec");
    const auto parsed_codec = io::parse_codec(codec.value);
    if (!parsed_codec || io::codec_name(*parsed_codec) != codec.value) {
        r.fail(codec, fmt::format("bad codec '{}' (expected none, zstd, lzo or gzip)", codec.value));
    }
    m.codec = *parsed_codec;
    m.content_size = r.number("content-size");
    if (r.has(sha256_key) == r.has(vma_items_key)) {
        if (r.has(sha256_key)) {
            r.fail(r.get(vma_items_key), fmt::format("'{}' and '{}' both given (expected one content digest)",
                                                     sha256_key, vma_items_key));
        }
        throw io::file_error(origin, "missing key '{}' (or '{}')", sha256_key, vma_items_key);
    }
    m.content_digest = r.has(vma_items_key) ? ContentDigest::vma_items : ContentDigest::sha256;
    m.content_sha256 = r.digest(content_digest_key(m.content_digest));
    const auto& created = r.get("created");
    const auto t = parse_utc(created.value);
    if (!t) {
        r.fail(created, fmt::format("bad created '{}' (expected YYYY-MM-DDTHH:MM:SSZ)", created.value));
    }
    m.created = *t;
    m.pvediff_version = r.text("pvediff-version");
    if (kind.value == "differential") {
        DeltaInfo d;
        d.full_name = r.text("full-name");
        d.full_content_size = r.number("full-content-size");
        d.full_content_sha256 = r.digest("full-content-sha256");
        d.engine = r.text("engine");
        d.copied_bytes = r.number("copied-bytes");
        d.literal_bytes = r.number("literal-bytes");
        d.windows = r.number("windows");
        d.delta_bytes = r.has("delta-bytes") ? r.number("delta-bytes") : 0;
        m.delta = std::move(d);
    } else {
        for (const auto key : delta_keys) {
            if (r.has(key)) {
                r.fail(r.get(key), fmt::format("'{}' belongs only in a differential's manifest", key));
            }
        }
        if (r.has("delta-bytes")) {
            r.fail(r.get("delta-bytes"), "'delta-bytes' belongs only in a differential's manifest");
        }
    }
    if (m.content_digest == ContentDigest::vma_items && !may_use_vma_items(m)) {
        r.fail(r.get(vma_items_key),
               fmt::format("'{}' belongs only in the manifest of a differential of a VMA", vma_items_key));
    }
    for (const auto& l : r.lines()) {
        if (!is_known(l.key)) {
            m.unknown.emplace_back(l.key, l.value);
        }
    }
    return m;
}

std::filesystem::path manifest_path_for(const std::filesystem::path& file)
{
    return std::filesystem::path(file.string() + std::string(manifest_suffix));
}

void write_manifest(const std::filesystem::path& file, const Manifest& m)
{
    if (m.file != file.filename().string()) {
        throw io::Error(
            fmt::format("cannot write manifest of '{}': it describes '{}'", file.string(), m.file));
    }
    // A sidecar is as secret as the file it describes: its mode, owner and group.
    const io::DirHandle dir = io::DirHandle::of(file);
    const auto described = dir.stat_entry(file.filename().string());
    io::FileMode mode;
    if (described && S_ISREG(described->st_mode)) {
        mode = io::FileMode::like(*described);
    }
    io::write_file_atomic(manifest_path_for(file), format_manifest(m), mode);
}

std::optional<Manifest> read_manifest(const std::filesystem::path& file)
{
    const auto path = manifest_path_for(file);
    const auto text = detail::read_sidecar_if_exists(path, manifest_max_size);
    if (!text) {
        return std::nullopt;
    }
    Manifest m = parse_manifest(*text, path.string());
    if (m.file != file.filename().string()) {
        throw io::file_error(path.string(), "describes '{}', not '{}'", m.file, file.filename().string());
    }
    return m;
}

std::optional<Manifest> read_manifest_or_none(const std::filesystem::path& file)
{
    try {
        return read_manifest(file);
    } catch (const io::Error&) {
        return std::nullopt;
    }
}

std::optional<std::string> full_mismatch(const std::filesystem::path& full, const io::Digest& seen,
                                         const io::Digest& recorded, std::string_view made_for)
{
    if (seen == recorded) {
        return std::nullopt;
    }
    return fmt::format(
        "'{}' is not the full {} was made against (content SHA-256 {}... instead of {}...): it was "
        "replaced or changed",
        full.string(), made_for, io::to_hex(seen).substr(0, 16), io::to_hex(recorded).substr(0, 16));
}

}  // namespace pvediff::store
