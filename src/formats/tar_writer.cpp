// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/tar_writer.h"

#include <array>
#include <cstdio>
#include <cstring>

#include "pvediff/io/error.h"

namespace pvediff::formats {

namespace {
constexpr std::size_t record = 512;

// Writes `value` as zero-padded octal of width-1 digits plus NUL, as ustar wants.
void put_octal(char* field, std::size_t width, std::uint64_t value)
{
    field[width - 1] = '\0';
    for (std::size_t i = width - 1; i-- > 0;) {
        field[i] = static_cast<char>('0' + (value & 7));
        value >>= 3;
    }
    if (value != 0) {
        throw io::Error("tar writer: value too large for a ustar field");
    }
}

// ustar splits long paths at a '/' into prefix (155) and name (100).
void put_path(std::array<char, record>& h, const std::string& path)
{
    if (path.size() <= 100) {
        std::memcpy(h.data(), path.data(), path.size());
        return;
    }
    const auto slash = path.rfind('/', 155);
    if (slash == std::string::npos || path.size() - slash - 1 > 100 || slash == 0) {
        throw io::Error(fmt::format("tar writer: path too long for ustar: '{}'", path));
    }
    std::memcpy(h.data() + 345, path.data(), slash);
    std::memcpy(h.data(), path.data() + slash + 1, path.size() - slash - 1);
}
}  // namespace

void TarWriter::write_header(const std::string& path, char type, std::uint64_t size, std::int64_t mtime,
                             unsigned mode)
{
    if (remaining_ != 0) {
        throw io::Error("tar writer: previous file not complete");
    }
    std::array<char, record> h{};
    put_path(h, path);
    put_octal(h.data() + 100, 8, mode);
    put_octal(h.data() + 108, 8, 0);
    put_octal(h.data() + 116, 8, 0);
    put_octal(h.data() + 124, 12, size);
    put_octal(h.data() + 136, 12, static_cast<std::uint64_t>(mtime));
    h[156] = type;
    std::memcpy(h.data() + 257, "ustar", 6);
    std::memcpy(h.data() + 263, "00", 2);
    std::memcpy(h.data() + 265, "root", 4);
    std::memcpy(h.data() + 297, "root", 4);
    // The checksum is computed with its own field taken as eight spaces.
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (const char c : h) {
        sum += static_cast<unsigned char>(c);
    }
    put_octal(h.data() + 148, 7, sum);
    h[155] = ' ';
    out_.write(std::span(reinterpret_cast<const std::uint8_t*>(h.data()), h.size()));
}

void TarWriter::add_directory(const std::string& path, std::int64_t mtime, unsigned mode)
{
    write_header(path.ends_with('/') ? path : path + "/", '5', 0, mtime, mode);
}

void TarWriter::begin_file(const std::string& path, std::uint64_t size, std::int64_t mtime, unsigned mode)
{
    write_header(path, '0', size, mtime, mode);
    remaining_ = size;
    written_in_file_ = size;
}

void TarWriter::write_data(std::span<const std::uint8_t> data)
{
    if (data.size() > remaining_) {
        throw io::Error("tar writer: more data than the header announced");
    }
    out_.write(data);
    remaining_ -= data.size();
}

void TarWriter::end_file()
{
    if (remaining_ != 0) {
        throw io::Error("tar writer: less data than the header announced");
    }
    static constexpr std::array<std::uint8_t, record> zeros{};
    const std::size_t pad = (record - written_in_file_ % record) % record;
    out_.write(std::span(zeros).first(pad));
    written_in_file_ = 0;
}

void TarWriter::add_file(const std::string& path, std::span<const std::uint8_t> content, std::int64_t mtime,
                         unsigned mode)
{
    begin_file(path, content.size(), mtime, mode);
    write_data(content);
    end_file();
}

void TarWriter::finish()
{
    static constexpr std::array<std::uint8_t, 2 * record> zeros{};
    out_.write(zeros);
}

}  // namespace pvediff::formats
