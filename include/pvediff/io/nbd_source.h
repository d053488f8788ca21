// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// One NBD export, read through libnbd: its size, the extents of a metadata context
// (`base:allocation`, `qemu:dirty-bitmap:NAME`) and reads of byte ranges in large
// requests with several in flight. Every error names the export's URI.
//
// Memory: a read keeps at most max_in_flight requests of request_size bytes (32 MiB
// with the defaults); the extents of a context are held as a list (16 bytes per run of
// equal flags, merged).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

struct nbd_handle;

namespace pvediff::io {

inline constexpr const char* nbd_allocation_context = "base:allocation";
// The context of QEMU's dirty bitmap `bitmap` ("qemu:dirty-bitmap:NAME").
std::string nbd_dirty_bitmap_context(const std::string& bitmap);

// Flags of base:allocation (NBD protocol): not allocated / reads as zeros.
inline constexpr std::uint32_t nbd_state_hole = 1;
inline constexpr std::uint32_t nbd_state_zero = 2;
// Flag of a qemu:dirty-bitmap context: written since the bitmap was started or cleared.
inline constexpr std::uint32_t nbd_state_dirty = 1;

struct NbdExtent {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint32_t flags = 0;
    friend bool operator==(const NbdExtent&, const NbdExtent&) = default;
};

struct NbdRange {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    friend bool operator==(const NbdRange&, const NbdRange&) = default;
};

struct NbdReadOptions {
    std::size_t request_size = 4U << 20;  // bytes per NBD read (a multiple of 64 KiB)
    std::size_t max_in_flight = 8;
};

class NbdExport {
public:
    // Connects to `uri` (nbd://, nbd+unix:///EXPORT?socket=PATH, ...) asking for the
    // metadata contexts `contexts` (whether the server offers each: has_context()).
    // Throws io::Error naming the URI when the connection fails.
    NbdExport(std::string uri, const std::vector<std::string>& contexts);
    ~NbdExport();
    NbdExport(const NbdExport&) = delete;
    NbdExport& operator=(const NbdExport&) = delete;

    [[nodiscard]] const std::string& uri() const { return uri_; }
    [[nodiscard]] std::uint64_t size() const { return size_; }
    // Whether the server agreed to the context (asked for in the constructor).
    [[nodiscard]] bool has_context(const std::string& context) const;

    // The extents of `context` over the whole export, in order, covering it without
    // gaps, neighbours with equal flags merged. Throws when the context was not
    // agreed or the server answers inconsistently.
    [[nodiscard]] std::vector<NbdExtent> extents(const std::string& context);

    // Reads `ranges` (in ascending order, not overlapping, inside the export) in
    // requests of at most options.request_size bytes, up to options.max_in_flight at
    // once, and hands each request's bytes to `deliver` in order, with its offset.
    // The span is valid during the call only.
    using Deliver = std::function<void(std::uint64_t offset, std::span<const std::uint8_t> data)>;
    void read(std::span<const NbdRange> ranges, const Deliver& deliver, const NbdReadOptions& options = {});

    // Bytes read from the export so far (by read()).
    [[nodiscard]] std::uint64_t bytes_read() const { return bytes_read_; }

private:
    [[noreturn]] void fail(const std::string& what) const;

    std::string uri_;
    nbd_handle* handle_ = nullptr;
    std::uint64_t size_ = 0;
    std::vector<std::string> agreed_;
    std::uint64_t bytes_read_ = 0;
};

}  // namespace pvediff::io
