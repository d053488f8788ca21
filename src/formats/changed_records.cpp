// SPDX-License-Identifier: GPL-2.0-or-later
// The changed records of a differential (the format: pvediff/formats/vma_cluster_records.h):
// one fixed-size record per cluster, in ascending (dev_id, cluster) order.
#include <fmt/format.h>

#include <algorithm>

#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/error.h"
#include "records_io.h"

namespace pvediff::formats {

namespace {

// (dev_id, cluster) as one number, for the order check.
std::uint64_t order_key(const ClusterRecord& r)
{
    return (std::uint64_t{r.dev_id} << 32) | r.cluster;
}

// What every record must satisfy besides its order.
const char* record_problem(const ClusterRecord& r)
{
    if (r.dev_id == 0) {
        return "device id 0";
    }
    if (r.mask == 0 && (r.adler32 != 1 || r.sha256 != records::empty_sha256())) {
        return "a cluster with nothing stored has the checksums of something";
    }
    return nullptr;
}

}  // namespace

struct ChangedRecordsWriter::Impl {
    Impl(const std::filesystem::path& path, const io::FileMode& mode) : file(path, mode), out(file.sink()) {}

    io::AtomicFile file;
    records::Output out;
    std::uint64_t count = 0;
    std::uint64_t last_key = 0;
};

ChangedRecordsWriter::ChangedRecordsWriter(const std::filesystem::path& path, const io::FileMode& mode)
    : impl_(std::make_unique<Impl>(path, mode))
{
    impl_->out.preamble(records::Kind::changed);
}

ChangedRecordsWriter::~ChangedRecordsWriter() = default;

void ChangedRecordsWriter::add(const ClusterRecord& record)
{
    Impl& d = *impl_;
    const std::string path = d.file.final_path().string();
    if (const char* problem = record_problem(record)) {
        throw io::file_error(path, "cluster {} of device {}: {}", record.cluster, record.dev_id, problem);
    }
    if (d.count > 0 && order_key(record) <= d.last_key) {
        throw io::file_error(path, "cluster {} of device {} added out of order", record.cluster,
                             record.dev_id);
    }
    std::vector<std::uint8_t> out{records::tag_item, record.dev_id};
    io::append_le32(out, record.cluster);
    io::append_le16(out, record.mask);
    io::append_le32(out, record.adler32);
    out.insert(out.end(), record.sha256.begin(), record.sha256.end());
    d.out.write(out);
    d.last_key = order_key(record);
    ++d.count;
}

void ChangedRecordsWriter::commit(const RecordsTrailer& trailer)
{
    Impl& d = *impl_;
    d.out.end(d.count, trailer);
    d.out.finish();
    d.file.commit();
}

struct ChangedRecordsReader::Impl {
    explicit Impl(const std::filesystem::path& path) : in(path) {}

    records::Input in;
    std::uint64_t count = 0;
    std::uint64_t last_key = 0;
    bool ended = false;
};

ChangedRecordsReader::ChangedRecordsReader(const std::filesystem::path& path)
    : impl_(std::make_unique<Impl>(path))
{
    impl_->in.preamble(records::Kind::changed);
}

ChangedRecordsReader::~ChangedRecordsReader() = default;

std::optional<ClusterRecord> ChangedRecordsReader::next()
{
    Impl& d = *impl_;
    if (d.ended) {
        return std::nullopt;
    }
    const std::uint64_t at = d.in.offset();
    if (!d.in.item()) {
        d.ended = true;
        return std::nullopt;
    }
    auto r = d.in.reader(records::change_size - 1);
    ClusterRecord c;
    c.dev_id = r.u8();
    c.cluster = r.le32();
    c.mask = r.le16();
    c.adler32 = r.le32();
    const auto sha = r.bytes(c.sha256.size());
    std::copy(sha.begin(), sha.end(), c.sha256.begin());
    if (const char* problem = record_problem(c)) {
        d.in.fail(at, problem);
    }
    if (d.count > 0 && order_key(c) <= d.last_key) {
        d.in.fail(at,
                  fmt::format("cluster {} of device {} is not after the one before it", c.cluster, c.dev_id));
    }
    d.last_key = order_key(c);
    ++d.count;
    return c;
}

RecordsTrailer ChangedRecordsReader::finish()
{
    Impl& d = *impl_;
    if (!d.ended) {
        d.in.fail(d.in.offset(), "finish() before the last record was read");
    }
    return d.in.end(d.count);
}

}  // namespace pvediff::formats
