// SPDX-License-Identifier: GPL-2.0-or-later
#include "records_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"

namespace pvediff::formats::records {

namespace {
constexpr std::size_t read_buffer_size = std::size_t{256} << 10;
}  // namespace

const io::Digest& empty_sha256()
{
    static const io::Digest digest = [] {
        io::Sha256 sha;
        return sha.finish();
    }();
    return digest;
}

void Output::write(std::span<const std::uint8_t> bytes)
{
    sha_.update(bytes);
    sink_.write(bytes);
}

void Output::preamble(Kind kind)
{
    std::vector<std::uint8_t> out(magic.begin(), magic.end());
    io::append_le32(out, version);
    out.push_back(static_cast<std::uint8_t>(kind));
    out.resize(preamble_size, 0);
    write(out);
}

void Output::end(std::uint64_t count, const RecordsTrailer& trailer)
{
    std::vector<std::uint8_t> out{tag_end};
    io::append_le64(out, count);
    io::append_le64(out, trailer.content_size);
    out.insert(out.end(), trailer.content_sha256.begin(), trailer.content_sha256.end());
    io::append_le64(out, trailer.file_size);
    write(out);
}

void Output::finish()
{
    const io::Digest digest = sha_.finish();
    sink_.write(digest);
    sink_.finish();
}

Input::Input(const std::filesystem::path& path)
    : name_(path.string()), fd_(io::open_regular_file(path)), buf_(read_buffer_size)
{
}

void Input::fail(std::uint64_t offset, const std::string& message) const
{
    io::throw_parse_error(name_, offset, "cluster records: " + message);
}

std::span<const std::uint8_t> Input::fill(std::size_t n)
{
    if (end_ - begin_ < n) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        if (buf_.size() < n) {
            buf_.resize(n);
        }
        while (end_ < n) {
            const std::size_t got = io::read_some(fd_.get(), std::span(buf_).subspan(end_), name_);
            if (got == 0) {
                fail(offset_ + end_, fmt::format("truncated: {} bytes wanted at offset {}", n, offset_));
            }
            end_ += got;
        }
    }
    const auto out = std::span<const std::uint8_t>(buf_).subspan(begin_, n);
    begin_ += n;
    offset_ += n;
    return out;
}

std::span<const std::uint8_t> Input::take(std::size_t n)
{
    const auto out = fill(n);
    sha_.update(out);
    return out;
}

io::ByteReader Input::reader(std::size_t n)
{
    const std::uint64_t at = offset_;
    return io::ByteReader(take(n), name_, at);
}

bool Input::item()
{
    const std::uint64_t at = offset_;
    const std::uint8_t tag = take(1)[0];
    if (tag != tag_item && tag != tag_end) {
        fail(at, fmt::format("unknown record tag {}", tag));
    }
    return tag == tag_item;
}

void Input::preamble(Kind kind)
{
    const std::uint64_t at = offset_;
    auto r = reader(preamble_size);
    if (!std::equal(magic.begin(), magic.end(), r.bytes(magic.size()).begin())) {
        fail(at, "not a pvediff cluster records file (bad magic)");
    }
    const std::uint32_t v = r.le32();
    if (v != version) {
        fail(at + 8, fmt::format("cluster records version {} (this pvediff reads {})", v, version));
    }
    const std::uint8_t k = r.u8();
    if (k != static_cast<std::uint8_t>(kind)) {
        fail(at + 12, fmt::format("cluster records of kind {}, {} expected", k, static_cast<int>(kind)));
    }
    for (int i = 0; i < 3; ++i) {
        if (r.u8() != 0) {
            fail(at + 13, "reserved bytes are not zero");
        }
    }
}

RecordsTrailer Input::end(std::uint64_t count)
{
    const std::uint64_t trailer_at = offset_;
    auto r = reader(trailer_size);
    const std::uint64_t recorded = r.le64();
    if (recorded != count) {
        fail(trailer_at, fmt::format("the trailer counts {} records, the file holds {}", recorded, count));
    }
    RecordsTrailer t;
    t.content_size = r.le64();
    const auto sha = r.bytes(t.content_sha256.size());
    std::copy(sha.begin(), sha.end(), t.content_sha256.begin());
    t.file_size = r.le64();
    const std::uint64_t at = offset_;
    const io::Digest computed = sha_.finish();
    const auto stored = fill(computed.size());
    if (!std::equal(computed.begin(), computed.end(), stored.begin())) {
        fail(at, "checksum mismatch: the file is damaged or was changed");
    }
    std::uint8_t extra = 0;
    if (end_ > begin_ || io::read_some(fd_.get(), std::span(&extra, 1), name_) != 0) {
        fail(offset_, "bytes follow the checksum");
    }
    return t;
}

}  // namespace pvediff::formats::records
