// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/vcdiff_scan.h"

#include <algorithm>
#include <limits>

#include "pvediff/engine/vcdiff_format.h"
#include "pvediff/io/error.h"
#include "vcdiff_reader.h"

namespace pvediff::engine {

namespace {

using vcdiff::Inst;
using Reader = vcdiff::StreamReader;
using vcdiff::addr_bytes_per_target;
using vcdiff::data_bytes_per_target;
using vcdiff::inst_bytes_per_target;
using vcdiff::section_slack;

// Any window xdelta3 accepts has sizes below these; a larger declared size is corruption,
// and checking it first means a lying header never makes us allocate.
constexpr std::uint64_t max_usize = std::numeric_limits<std::uint32_t>::max();
// The most source ranges one window keeps (16 bytes each): beyond it, ranges close to
// each other are joined (the window then counts a few bytes more as read).
constexpr std::size_t max_window_ranges = std::size_t{1} << 19;

// Sorts and joins ranges that overlap, touch, or lie at most `gap` bytes apart.
void merge_ranges(std::vector<SourceRange>& ranges, std::uint64_t gap = 0)
{
    std::sort(ranges.begin(), ranges.end(),
              [](const SourceRange& a, const SourceRange& b) { return a.offset < b.offset; });
    std::size_t out = 0;
    for (const SourceRange& r : ranges) {
        if (out > 0 && r.offset <= ranges[out - 1].offset + ranges[out - 1].length + gap) {
            SourceRange& last = ranges[out - 1];
            last.length = std::max(last.offset + last.length, r.offset + r.length) - last.offset;
        } else {
            ranges[out++] = r;
        }
    }
    ranges.resize(out);
}

// Keeps a window's ranges below max_window_ranges whatever its instructions say: joins
// them across ever larger gaps (a superset of what is read, which the decoder accepts).
void bound_ranges(std::vector<SourceRange>& ranges)
{
    merge_ranges(ranges);
    for (std::uint64_t gap = 4096; ranges.size() > max_window_ranges / 2; gap *= 2) {
        merge_ranges(ranges, gap);
    }
}

}  // namespace

struct VcdiffScanner::Impl {
    explicit Impl(io::ByteSource& delta) : in(delta) {}

    Reader in;
    VcdiffHeader header;
    bool header_read = false;
    std::uint64_t windows = 0;
    std::uint64_t target_pos = 0;
    std::vector<std::uint8_t> inst;
    std::vector<std::uint8_t> addr;
    vcdiff::AddressCache cache;

    void read_header();
    void decode_instructions(ScannedWindow& w, std::optional<std::uint64_t> data_len,
                             std::uint64_t window_offset);
};

void VcdiffScanner::Impl::read_header()
{
    for (std::uint8_t expected : vcdiff::magic) {
        if (in.byte("header") != expected) {
            in.fail_at(0, "not a VCDIFF delta (bad magic)");
        }
    }
    header.indicator = in.byte("header");
    if ((header.indicator & ~(vcdiff::hdr_secondary | vcdiff::hdr_codetable | vcdiff::hdr_appheader)) != 0) {
        in.fail_at(in.offset() - 1, "unknown header indicator bits");
    }
    if (header.indicator & vcdiff::hdr_secondary) {
        const std::uint8_t id = in.byte("header");
        if (id != 1 && id != 2 && id != 16) {
            in.fail_at(in.offset() - 1, fmt::format("unknown secondary compressor id {}", id));
        }
        header.secondary_id = id;
    }
    if (header.indicator & vcdiff::hdr_codetable) {
        const std::uint64_t n = in.varint("code table length");
        if (n <= 2 || n > max_usize) {
            in.fail("invalid code table length");
        }
        header.custom_code_table = true;
        in.skip(n, "code table");
    }
    if (header.indicator & vcdiff::hdr_appheader) {
        header.app_header_length = in.varint("application header length");
        if (header.app_header_length >= max_usize) {
            in.fail("invalid application header length");
        }
        in.skip(header.app_header_length, "application header");
    }
    header_read = true;
}

// Walks the instruction section with the default code table, collecting the source
// ranges of COPY instructions, and checks what xdelta3's decoder checks.
void VcdiffScanner::Impl::decode_instructions(ScannedWindow& w, std::optional<std::uint64_t> data_len,
                                              std::uint64_t window_offset)
{
    const std::uint64_t seg = w.has_source ? w.segment_length : 0;
    std::uint64_t data_used = 0;
    cache.reset();
    auto bad = [&](const std::string& what) {
        in.fail_at(window_offset, fmt::format("window {}: {}", w.index, what));
    };
    vcdiff::walk_instructions(inst, addr, seg, seg + w.target_length, cache, bad,
                              [&](const vcdiff::Instruction& i) {
                                  switch (i.type) {
                                      case Inst::add:
                                          data_used += i.size;
                                          w.added_bytes += i.size;
                                          break;
                                      case Inst::run:
                                          data_used += 1;
                                          break;
                                      case Inst::copy:
                                          if (i.address >= i.at) {
                                              bad("copy address beyond the current position");
                                          }
                                          if (i.address < seg) {
                                              if (i.size > seg - i.address) {
                                                  bad("copy crosses the end of the source segment");
                                              }
                                              w.ranges.push_back({w.segment_offset + i.address, i.size});
                                              if (w.ranges.size() >= max_window_ranges) {
                                                  bound_ranges(w.ranges);
                                              }
                                          }
                                          break;
                                      case Inst::noop:
                                          break;
                                  }
                              });
    if (data_len && data_used != *data_len) {
        bad("data section length does not match the instructions");
    }
    bound_ranges(w.ranges);
}

VcdiffScanner::VcdiffScanner(io::ByteSource& delta) : impl_(std::make_unique<Impl>(delta))
{
}
VcdiffScanner::~VcdiffScanner() = default;

const VcdiffHeader& VcdiffScanner::header()
{
    if (!impl_->header_read) {
        impl_->read_header();
    }
    return impl_->header;
}

std::uint64_t VcdiffScanner::offset() const
{
    return impl_->in.offset();
}

bool VcdiffScanner::next(ScannedWindow& w)
{
    header();
    Impl& s = *impl_;
    Reader& in = s.in;
    if (in.at_end()) {
        return false;
    }
    w = ScannedWindow{};
    w.index = s.windows;
    w.delta_offset = in.offset();
    w.target_offset = s.target_pos;
    const std::string where = fmt::format("window {}: ", w.index);

    const std::uint8_t win = in.byte("window header");
    if ((win & ~(vcdiff::win_source | vcdiff::win_target | vcdiff::win_adler32)) != 0) {
        in.fail_at(w.delta_offset, where + "unknown window indicator bits");
    }
    if (win & vcdiff::win_target) {
        // xdelta3 cannot decode these either (XD3_UNIMPLEMENTED).
        in.fail_at(w.delta_offset, where + "copies from the target (VCD_TARGET) are not supported");
    }
    if (win & vcdiff::win_source) {
        w.has_source = true;
        w.segment_length = in.varint("window header");
        w.segment_offset = in.varint("window header");
        if (w.segment_length > max_usize) {
            in.fail_at(w.delta_offset, where + "source segment too long");
        }
        if (w.segment_offset > std::numeric_limits<std::uint64_t>::max() - w.segment_length) {
            in.fail_at(w.delta_offset, where + "source segment overflows a file offset");
        }
    }
    const std::uint64_t enc_len = in.varint("window header");
    const std::uint64_t enc_start = in.offset();
    w.target_length = in.varint("window header");
    if (w.target_length > vcdiff::max_target_window) {
        in.fail_at(w.delta_offset, where + "target window larger than 16 MiB");
    }
    if (w.segment_length + w.target_length > vcdiff::max_segment_plus_window) {
        in.fail_at(w.delta_offset, where + "source segment plus target window exceed 4 GiB");
    }
    const std::uint8_t del = in.byte("window header");
    if ((del & ~(vcdiff::del_datacomp | vcdiff::del_instcomp | vcdiff::del_addrcomp)) != 0) {
        in.fail_at(w.delta_offset, where + "unknown delta indicator bits");
    }
    if (del != 0 && !s.header.secondary_id) {
        in.fail_at(w.delta_offset, where + "compressed sections without a secondary compressor");
    }
    const std::uint64_t data_len = in.varint("window header");
    const std::uint64_t inst_len = in.varint("window header");
    const std::uint64_t addr_len = in.varint("window header");
    if (win & vcdiff::win_adler32) {
        std::uint32_t a = 0;
        for (int i = 0; i < 4; ++i) {
            a = (a << 8) | in.byte("window checksum");
        }
        w.adler32 = a;
    }
    // The same redundancy check as xdelta3's ("incorrect encoding length").
    if (data_len > max_usize || inst_len > max_usize || addr_len > max_usize ||
        enc_len != (in.offset() - enc_start) + data_len + inst_len + addr_len) {
        in.fail_at(w.delta_offset, where + "inconsistent window encoding length");
    }
    const std::uint64_t data_max = w.target_length * data_bytes_per_target + section_slack;
    const std::uint64_t inst_max = w.target_length * inst_bytes_per_target + section_slack;
    const std::uint64_t addr_max = w.target_length * addr_bytes_per_target + section_slack;
    if (data_len > data_max || inst_len > inst_max || addr_len > addr_max) {
        in.fail_at(w.delta_offset, fmt::format("{}sections larger than a target window of {} bytes can need",
                                               where, w.target_length));
    }
    w.coarse = s.header.custom_code_table || (del & (vcdiff::del_instcomp | vcdiff::del_addrcomp)) != 0;
    // A compressed section starts with its plain size, which xdelta3 allocates at once.
    const auto section = [&](std::uint64_t len, bool compressed, std::uint64_t plain_max, const char* what) {
        if (!compressed || len == 0) {
            in.skip(len, what);
            return;
        }
        const std::uint64_t start = in.offset();
        const std::uint64_t plain = in.varint(what);
        if (in.offset() - start > len || plain > plain_max) {
            in.fail_at(w.delta_offset, where + "compressed " + what + " too large for its window");
        }
        in.skip(len - (in.offset() - start), what);
    };
    if (w.coarse) {
        // Instructions unread: the data section's length is what is known to be literal
        // (a lower bound when it is compressed).
        w.added_bytes = std::min(data_len, w.target_length);
    }
    section(data_len, (del & vcdiff::del_datacomp) != 0, data_max, "data section");
    if (w.coarse) {
        section(inst_len, (del & vcdiff::del_instcomp) != 0, inst_max, "instruction section");
        section(addr_len, (del & vcdiff::del_addrcomp) != 0, addr_max, "address section");
        if (w.has_source && w.segment_length > 0) {
            w.ranges.push_back({w.segment_offset, w.segment_length});
        }
    } else {
        in.bytes(s.inst, inst_len, "instruction section");
        in.bytes(s.addr, addr_len, "address section");
        // With a compressed data section its decoded length is unknown here.
        const bool data_plain = (del & vcdiff::del_datacomp) == 0;
        s.decode_instructions(w, data_plain ? std::optional(data_len) : std::nullopt, w.delta_offset);
    }
    ++s.windows;
    s.target_pos += w.target_length;
    return true;
}

ScanSummary scan_vcdiff(io::ByteSource& delta, const std::function<void(const ScannedWindow&)>& on_window)
{
    VcdiffScanner scanner(delta);
    ScanSummary summary;
    summary.header = scanner.header();
    ScannedWindow w;
    while (scanner.next(w)) {
        ++summary.windows;
        summary.target_bytes += w.target_length;
        summary.coarse_windows += w.coarse ? 1 : 0;
        summary.added_bytes += w.added_bytes;
        for (const SourceRange& r : w.ranges) {
            summary.source_end = std::max(summary.source_end, r.offset + r.length);
        }
        if (on_window) {
            on_window(w);
        }
    }
    summary.delta_bytes = scanner.offset();
    return summary;
}

}  // namespace pvediff::engine
