// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/formats/tar_verify.h"

#include <archive.h>
#include <archive_entry.h>

#include <exception>
#include <memory>

#include "pvediff/io/error.h"
#include "tar_layout.h"

namespace pvediff::formats {
namespace {

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};

// Feeds libarchive from the ByteSource, and the same bytes to the lenient layout
// parser, which notices whether the stream ends with an end-of-archive marker.
// Exceptions must not cross libarchive's C frames: they are parked and rethrown.
struct Feeder {
    explicit Feeder(io::ByteSource& s) : source(s) {}
    io::ByteSource& source;
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(io::stream_buffer_size);
    tar::LayoutParser layout;
    std::vector<Region> regions;
    std::exception_ptr error;
    std::uint64_t bytes = 0;
    bool eof = false;

    la_ssize_t read(archive* a, const void** out)
    {
        try {
            const std::size_t n = source.read(buf);
            bytes += n;
            eof = n == 0;
            layout.feed(std::span(buf).first(n), regions);
            regions.clear();
            *out = buf.data();
            return static_cast<la_ssize_t>(n);
        } catch (...) {
            error = std::current_exception();
            archive_set_error(a, EIO, "read error");
            return -1;
        }
    }
};

la_ssize_t read_callback(archive* a, void* client, const void** out)
{
    return static_cast<Feeder*>(client)->read(a, out);
}

class TarVerifier {
public:
    TarVerifier(io::ByteSource& source, const TarVerifyOptions& options) : feeder_(source), options_(options)
    {
    }

    TarVerifyReport run()
    {
        std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
        if (!a) {
            throw io::Error("libarchive: out of memory");
        }
        archive_read_support_format_tar(a.get());
        archive_read_support_format_gnutar(a.get());
        if (archive_read_open(a.get(), &feeder_, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
            rethrow();
            failure(a.get(), "cannot open as tar");
        } else {
            read_entries(a.get());
        }
        // Read what libarchive left (the record padding after the end marker).
        while (!feeder_.eof) {
            const void* p = nullptr;
            if (feeder_.read(a.get(), &p) < 0) {
                rethrow();
            }
        }
        feeder_.layout.finish(feeder_.regions);
        r_.bytes = feeder_.bytes;
        r_.end_marker = feeder_.layout.clean_end();
        if (ok_ && !r_.end_marker) {
            add_problem(fmt::format("no end-of-archive marker at offset {} (truncated or trailing garbage)",
                                    feeder_.layout.offset()));
        }
        r_.ok = ok_;
        return std::move(r_);
    }

private:
    void rethrow()
    {
        if (feeder_.error) {
            std::rethrow_exception(feeder_.error);
        }
    }

    void add_problem(const std::string& message)
    {
        ok_ = false;
        if (r_.problems.size() < options_.max_problems) {
            r_.problems.push_back(message);
        } else {
            ++r_.problems_omitted;
        }
    }

    void failure(archive* a, const std::string& what)
    {
        const char* msg = archive_error_string(a);
        add_problem(fmt::format("{} near offset {}: {}", what, archive_filter_bytes(a, -1),
                                msg ? msg : "unknown error"));
    }

    void warning(archive* a, const std::string& what)
    {
        const char* msg = archive_error_string(a);
        if (r_.warnings.size() < options_.max_problems) {
            r_.warnings.push_back(what + ": " + (msg ? msg : "warning"));
        }
    }

    void read_entries(archive* a)
    {
        for (;;) {
            archive_entry* entry = nullptr;
            const int rc = archive_read_next_header(a, &entry);
            rethrow();
            if (rc == ARCHIVE_EOF) {
                return;
            }
            if (rc == ARCHIVE_WARN) {
                warning(a, fmt::format("member {}", r_.members + 1));
            } else if (rc != ARCHIVE_OK) {
                // RETRY (a damaged header) included: a backup must not have any.
                failure(a, fmt::format("member {} header", r_.members + 1));
                return;
            }
            ++r_.members;
            const char* path = archive_entry_pathname(entry);
            const std::string what = fmt::format("member {} '{}'", r_.members, path ? path : "?");
            if (!read_data(a, what)) {
                return;
            }
        }
    }

    bool read_data(archive* a, const std::string& what)
    {
        for (;;) {
            const void* buf = nullptr;
            std::size_t size = 0;
            la_int64_t offset = 0;
            const int rc = archive_read_data_block(a, &buf, &size, &offset);
            rethrow();
            if (rc == ARCHIVE_EOF) {
                return true;
            }
            if (rc == ARCHIVE_WARN) {
                warning(a, what);
            } else if (rc != ARCHIVE_OK) {
                failure(a, what + " data");
                return false;
            }
            r_.data_bytes += size;
        }
    }

    Feeder feeder_;
    const TarVerifyOptions& options_;
    TarVerifyReport r_;
    bool ok_ = true;
};

}  // namespace

TarVerifyReport verify_tar(io::ByteSource& source, const TarVerifyOptions& options)
{
    return TarVerifier(source, options).run();
}

}  // namespace pvediff::formats
