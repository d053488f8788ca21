// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/io/nbd_source.h"

#include <libnbd.h>

#include <algorithm>
#include <deque>
#include <memory>

#include "pvediff/io/error.h"

namespace pvediff::io {

std::string nbd_dirty_bitmap_context(const std::string& bitmap)
{
    return "qemu:dirty-bitmap:" + bitmap;
}

NbdExport::NbdExport(std::string uri, const std::vector<std::string>& contexts) : uri_(std::move(uri))
{
    handle_ = ::nbd_create();
    if (handle_ == nullptr) {
        fail("cannot create an NBD handle");
    }
    // From here the destructor does not run on a throw: close by hand.
    try {
        for (const auto& c : contexts) {
            if (::nbd_add_meta_context(handle_, c.c_str()) == -1) {
                fail(fmt::format("cannot ask for metadata context '{}'", c));
            }
        }
        if (::nbd_connect_uri(handle_, uri_.c_str()) == -1) {
            fail("cannot connect");
        }
        const std::int64_t size = ::nbd_get_size(handle_);
        if (size < 0) {
            fail("cannot get the export's size");
        }
        size_ = static_cast<std::uint64_t>(size);
        for (const auto& c : contexts) {
            if (::nbd_can_meta_context(handle_, c.c_str()) == 1) {
                agreed_.push_back(c);
            }
        }
    } catch (...) {
        ::nbd_close(handle_);
        throw;
    }
}

NbdExport::~NbdExport()
{
    ::nbd_close(handle_);  // also disconnects
}

void NbdExport::fail(const std::string& what) const
{
    const char* why = ::nbd_get_error();
    throw file_error(uri_, "{}: {}", what, why != nullptr ? why : "unknown NBD error");
}

bool NbdExport::has_context(const std::string& context) const
{
    return std::find(agreed_.begin(), agreed_.end(), context) != agreed_.end();
}

namespace {

struct ExtentCollector {
    const std::string* context = nullptr;
    std::uint64_t end = 0;  // of what the server described so far
    std::vector<NbdExtent>* out = nullptr;
    bool bad = false;
};

int collect_extents(void* user, const char* metacontext, std::uint64_t offset, std::uint32_t* entries,
                    std::size_t nr_entries, int* /*error*/)
{
    auto& c = *static_cast<ExtentCollector*>(user);
    if (*c.context != metacontext) {
        return 0;  // another context's answer to the same request
    }
    if (offset != c.end || nr_entries % 2 != 0) {
        c.bad = true;
        return 0;
    }
    for (std::size_t i = 0; i + 1 < nr_entries; i += 2) {
        const NbdExtent e{c.end, entries[i], entries[i + 1]};
        if (e.length == 0) {
            c.bad = true;
            return 0;
        }
        if (!c.out->empty() && c.out->back().flags == e.flags) {
            c.out->back().length += e.length;
        } else {
            c.out->push_back(e);
        }
        c.end += e.length;
    }
    return 0;
}

}  // namespace

std::vector<NbdExtent> NbdExport::extents(const std::string& context)
{
    if (!has_context(context)) {
        throw file_error(uri_, "the server does not offer metadata context '{}'", context);
    }
    std::vector<NbdExtent> out;
    ExtentCollector collector{&context, 0, &out, false};
    // A server answers a block-status request for part of the range asked: ask again
    // from where its answer ended, in requests of at most 2 GiB (the protocol's u32).
    constexpr std::uint64_t max_request = 1ULL << 31;
    while (collector.end < size_) {
        const std::uint64_t before = collector.end;
        nbd_extent_callback cb{};
        cb.callback = collect_extents;
        cb.user_data = &collector;
        const std::uint64_t count = std::min(max_request, size_ - before);
        if (::nbd_block_status(handle_, count, before, cb, 0) == -1) {
            fail(fmt::format("block status of '{}' at offset {}", context, before));
        }
        if (collector.bad || collector.end == before) {
            throw file_error(uri_, "offset {}: inconsistent block status for '{}'", before, context);
        }
    }
    if (collector.end > size_ && !out.empty()) {
        out.back().length -= collector.end - size_;  // a last extent past the end
    }
    return out;
}

namespace {

struct Request {
    std::uint64_t offset = 0;
    std::size_t length = 0;
    std::int64_t cookie = 0;
    std::unique_ptr<std::uint8_t[]> buffer;
};

}  // namespace

void NbdExport::read(std::span<const NbdRange> ranges, const Deliver& deliver, const NbdReadOptions& options)
{
    // The requests, in order: each range cut into pieces of at most request_size.
    std::size_t range = 0;
    std::uint64_t next = ranges.empty() ? 0 : ranges[0].offset;
    auto next_piece = [&](NbdRange& piece) {
        while (range < ranges.size() && next >= ranges[range].offset + ranges[range].length) {
            ++range;
            if (range < ranges.size()) {
                next = ranges[range].offset;
            }
        }
        if (range == ranges.size()) {
            return false;
        }
        const NbdRange& r = ranges[range];
        if (r.offset + r.length > size_ || r.offset + r.length < r.offset) {
            throw file_error(uri_, "read of {} bytes at offset {} is past the export's end ({})", r.length,
                             r.offset, size_);
        }
        piece = NbdRange{next, std::min<std::uint64_t>(options.request_size, r.offset + r.length - next)};
        next += piece.length;
        return true;
    };

    std::deque<Request> in_flight;
    std::vector<std::unique_ptr<std::uint8_t[]>> spare;  // buffers of completed requests
    auto submit = [&]() {
        NbdRange piece;
        if (!next_piece(piece)) {
            return false;
        }
        Request req;
        req.offset = piece.offset;
        req.length = static_cast<std::size_t>(piece.length);
        if (!spare.empty()) {
            req.buffer = std::move(spare.back());
            spare.pop_back();
        } else {
            req.buffer = std::make_unique<std::uint8_t[]>(options.request_size);
        }
        nbd_completion_callback none{};
        req.cookie = ::nbd_aio_pread(handle_, req.buffer.get(), req.length, req.offset, none, 0);
        if (req.cookie == -1) {
            fail(fmt::format("read of {} bytes at offset {}", req.length, req.offset));
        }
        in_flight.push_back(std::move(req));
        return true;
    };
    // On a throw (ours or the caller's), requests still in flight write into buffers
    // owned here: close the handle's use first by draining them.
    struct Drain {
        nbd_handle* h;
        std::deque<Request>* q;
        ~Drain()
        {
            for (auto& r : *q) {
                while (::nbd_aio_command_completed(h, static_cast<std::uint64_t>(r.cookie)) == 0) {
                    if (::nbd_poll(h, -1) == -1) {
                        ::nbd_shutdown(h, 0);  // the connection is gone; nothing will write
                        return;
                    }
                }
            }
        }
    } drain{handle_, &in_flight};

    while (in_flight.size() < std::max<std::size_t>(1, options.max_in_flight) && submit()) {
    }
    while (!in_flight.empty()) {
        Request& head = in_flight.front();
        for (;;) {
            const int done = ::nbd_aio_command_completed(handle_, static_cast<std::uint64_t>(head.cookie));
            if (done == 1) {
                break;
            }
            if (done == -1) {
                const std::string what =
                    fmt::format("read of {} bytes at offset {}", head.length, head.offset);
                in_flight.pop_front();  // retired by the failed completion
                fail(what);
            }
            if (::nbd_poll(handle_, -1) == -1) {
                fail("waiting for reads");
            }
        }
        Request req = std::move(in_flight.front());
        in_flight.pop_front();
        bytes_read_ += req.length;
        deliver(req.offset, std::span<const std::uint8_t>(req.buffer.get(), req.length));
        spare.push_back(std::move(req.buffer));
        submit();
    }
}

}  // namespace pvediff::io
