// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/engine/changed_cluster_decoder.h"

#include <fmt/format.h>
#include <libdeflate.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <tuple>

#include "pvediff/engine/in_step_decoder.h"
#include "pvediff/formats/vma.h"
#include "pvediff/io/error.h"
#include "pvediff/io/sha256.h"
#include "vcdiff_reader.h"

namespace pvediff::engine {

namespace vma = formats::vma;
using vcdiff::Inst;

namespace {

std::tuple<std::uint8_t, std::uint32_t> key(const formats::ClusterRecord& r)
{
    return {r.dev_id, r.cluster};
}

}  // namespace

// Two walks in step, both in the previous VMA's byte order (its "target" offsets):
//   - the layout: the VMA header (its size read from the differential's first bytes),
//     then per extent of the full its 512-byte header and each cluster's stored blocks,
//     sized by the changed record's mask for a changed cluster and the full record's
//     otherwise; it names the next wanted range (a changed cluster's stored blocks);
//   - the differential: window by window, instruction by instruction; an instruction's
//     bytes are produced only where it overlaps the wanted range, skipped otherwise.
struct ChangedClusterDecoder::Impl {
    Impl(io::ByteSource& vcdiff, formats::FullRecordsReader& fr, io::ZstdFrameReader& f,
         formats::ChangedRecordsReader& c, std::string n)
        : in(vcdiff), full_records(fr), full(f), changed(c), name(std::move(n))
    {
    }

    vcdiff::StreamReader in;
    formats::FullRecordsReader& full_records;
    io::ZstdFrameReader& full;
    formats::ChangedRecordsReader& changed;
    std::string name;

    // --- the differential ---
    bool open = false;  // a window is being walked
    bool ended = false;
    std::uint64_t windows = 0;
    vcdiff::PlainWindow w;
    vcdiff::InstructionCursor cursor;
    std::size_t dp = 0;
    std::uint64_t window_start = 0;  // target offset of the open window's first byte
    bool in_instruction = false;
    vcdiff::Instruction current{};
    std::uint64_t done = 0;  // bytes of `current` produced or skipped
    std::uint8_t run_byte = 0;

    // --- the layout ---
    std::uint64_t layout_at = 0;  // target offset up to which the layout is known
    bool header_known = false;
    std::optional<formats::ExtentRecord> extent;  // the full's extent being laid out
    std::size_t slot = 0;                         // its next cluster
    std::uint64_t checked_extent = std::numeric_limits<std::uint64_t>::max();  // its frame's header checked
    bool full_done = false;
    std::optional<formats::ClusterRecord> next_changed;
    bool changed_done = false;
    bool finished = false;

    // --- the wanted range ---
    std::uint64_t want_start = 0;
    std::uint64_t want_end = 0;
    std::vector<std::uint8_t> buf;                       // its bytes produced so far
    const formats::ExtentRecord* want_extent = nullptr;  // the full's extent holding it

    [[noreturn]] void bad(const std::string& what) const
    {
        in.fail_at(w.at, fmt::format("window {}: {}", w.number, what));
    }
    [[noreturn]] void refuse(const std::string& what) const
    {
        throw InStepRefused(fmt::format("'{}': window {}: {}: its changed clusters are not decodable alone",
                                        name, w.number, what));
    }
    [[noreturn]] void refuse_cluster(const formats::ClusterRecord& r, const std::string& what) const
    {
        throw InStepRefused(
            fmt::format("'{}': cluster {} of device {}: {}: its changed clusters are not "
                        "decodable alone",
                        name, r.cluster, r.dev_id, what));
    }

    // --- the differential's walk ---

    // False at the end of the stream.
    bool open_window()
    {
        if (!vcdiff::read_plain_window(in, windows, w, [&](const char* what) { refuse(what); })) {
            return false;
        }
        ++windows;
        cursor.reset(w);
        dp = 0;
        in_instruction = false;
        return true;
    }

    void close_window()
    {
        if (dp != w.data.size()) {
            bad("sections not used exactly");
        }
        window_start += w.target_len;
    }

    // The next instruction, opening windows as needed; false at the end of the stream.
    bool start_instruction()
    {
        for (;;) {
            if (!open) {
                if (ended) {
                    return false;
                }
                open = open_window();
                if (!open) {
                    ended = true;
                    return false;
                }
            }
            const auto next = cursor.next([&](const char* what) { bad(what); });
            if (next) {
                current = *next;
                break;
            }
            close_window();
            open = false;
        }
        done = 0;
        in_instruction = true;
        run_byte = vcdiff::check_plain_instruction(
            current, w, dp, [&](const char* what) { bad(what); }, [&](const char* what) { refuse(what); });
        return true;
    }

    // Target offset of the current instruction's next byte.
    [[nodiscard]] std::uint64_t position() const { return window_start + (current.at - w.seg_len) + done; }

    // Passes n bytes of the current instruction without producing them.
    void skip(std::uint64_t n)
    {
        if (current.type == Inst::add) {
            dp += static_cast<std::size_t>(n);
        }
        done += n;
    }

    // The full's bytes [from, from + out.size()), which must lie in the extent that holds
    // the wanted cluster: one frame read (or the one read last).
    void copy_from_full(std::uint64_t from, std::span<std::uint8_t> out)
    {
        const formats::ExtentRecord& e = *want_extent;
        if (from < e.offset || from > e.offset + e.length() || out.size() > e.offset + e.length() - from) {
            refuse(
                fmt::format("a COPY of the full's bytes [{}, {}) outside the full's extent [{}, {}) that "
                            "holds the cluster",
                            from, from + out.size(), e.offset, e.offset + e.length()));
        }
        const auto frame = full.frame(e.frame_offset, e.frame_size, static_cast<std::size_t>(e.length()));
        if (checked_extent != e.offset) {
            // The frame is the one the records name: its header is theirs.
            if (frame.size() < vma::extent_header_size ||
                std::memcmp(frame.data(), e.header.data(), vma::extent_header_size) != 0) {
                refuse(fmt::format(
                    "the full's frame at {} does not begin with the extent header its records give",
                    e.frame_offset));
            }
            checked_extent = e.offset;
        }
        std::memcpy(out.data(), frame.data() + (from - e.offset), out.size());
    }

    // The full's bytes [from, from + out.size()) for the new VMA header, which must lie
    // in the full's VMA header as its records hold it (the records route copies the
    // header's unchanged bytes, the guest config above all, from there).
    void copy_from_full_header(std::uint64_t from, std::span<std::uint8_t> out)
    {
        const auto header = full_records.vma_header();
        if (from > header.size() || out.size() > header.size() - from) {
            refuse(
                fmt::format("a COPY of the full's bytes [{}, {}) into the VMA header, outside the full's "
                            "VMA header of {} bytes",
                            from, from + out.size(), header.size()));
        }
        std::memcpy(out.data(), header.data() + from, out.size());
    }

    // Produces n bytes of the current instruction at the end of buf.
    void produce(std::size_t n)
    {
        const std::size_t at = buf.size();
        buf.resize(at + n);
        const auto out = std::span(buf).subspan(at, n);
        switch (current.type) {
            case Inst::add:
                std::memcpy(out.data(), w.data.data() + dp, n);
                dp += n;
                break;
            case Inst::run:
                std::memset(out.data(), run_byte, n);
                break;
            case Inst::copy:
                if (want_extent == nullptr) {
                    copy_from_full_header(w.seg_pos + current.address + done, out);
                } else {
                    copy_from_full(w.seg_pos + current.address + done, out);
                }
                break;
            case Inst::noop:
                break;
        }
        done += n;
    }

    // Walks the differential until the wanted range [want_start, want_end) is in buf.
    void fill_wanted()
    {
        while (want_start + buf.size() < want_end) {
            if (!in_instruction || done == current.size) {
                in_instruction = false;
                if (!start_instruction()) {
                    in.fail(
                        fmt::format("the differential ends at target byte {}, before the end of a changed "
                                    "cluster at {}",
                                    window_start, want_end));
                }
                continue;
            }
            const std::uint64_t pos = position();
            const std::uint64_t left = current.size - done;
            const std::uint64_t wanted = want_start + buf.size();
            if (pos < wanted) {
                skip(std::min(left, wanted - pos));
            } else {
                produce(static_cast<std::size_t>(std::min(left, want_end - pos)));
            }
        }
    }

    // Walks the rest of the differential without producing anything.
    void drain()
    {
        for (;;) {
            if (in_instruction && done < current.size) {
                skip(current.size - done);
            }
            in_instruction = false;
            if (!start_instruction()) {
                return;
            }
        }
    }

    // --- the layout ---

    void read_header_size()
    {
        vcdiff::read_plain_header(in, [&](const char* what) {
            throw InStepRefused(
                fmt::format("'{}': {}: its changed clusters are not decodable alone", name, what));
        });
        want_start = 0;
        want_end = vma::header_prefix_size;
        want_extent = nullptr;
        buf.clear();
        fill_wanted();
        layout_at = formats::vma_header_size(buf, name);
        header_known = true;
    }

    void next_changed_record()
    {
        if (!changed_done && !next_changed) {
            next_changed = changed.next();
            changed_done = !next_changed;
        }
    }

    // Lays out the previous VMA up to the next changed cluster: its record and target
    // range; nullopt when no changed record is left.
    std::optional<formats::ClusterRecord> next_wanted()
    {
        next_changed_record();
        while (next_changed) {
            if (!extent || slot == extent->clusters.size()) {
                extent = full_records.next();
                slot = 0;
                if (!extent) {
                    full_done = true;
                    throw io::Error(
                        fmt::format("'{}': changed cluster {} of device {} is not in the full's "
                                    "records",
                                    name, next_changed->cluster, next_changed->dev_id));
                }
                layout_at += vma::extent_header_size;
                continue;
            }
            const formats::ClusterRecord& c = extent->clusters[slot++];
            if (key(*next_changed) < key(c)) {
                throw io::Error(
                    fmt::format("'{}': changed cluster {} of device {} is not in the full's records", name,
                                next_changed->cluster, next_changed->dev_id));
            }
            if (key(*next_changed) == key(c)) {
                formats::ClusterRecord r = *next_changed;
                next_changed.reset();
                want_start = layout_at;
                want_end = layout_at + r.stored_size();
                want_extent = &*extent;
                layout_at = want_end;
                return r;
            }
            layout_at += c.stored_size();
        }
        return std::nullopt;
    }

    // After the last changed cluster: the rest of the layout, the differential's end and
    // both records' checks.
    void finish()
    {
        drain();
        if (extent) {
            for (; slot < extent->clusters.size(); ++slot) {
                layout_at += extent->clusters[slot].stored_size();
            }
        }
        while (!full_done) {
            extent = full_records.next();
            if (!extent) {
                full_done = true;
                break;
            }
            layout_at += extent->length();
        }
        extent.reset();
        full_records.finish();
        const formats::RecordsTrailer trailer = changed.finish();
        if (window_start != trailer.content_size || layout_at != trailer.content_size) {
            in.fail(
                fmt::format("the differential's target is {} bytes and its layout {}, its changed records "
                            "give {}",
                            window_start, layout_at, trailer.content_size));
        }
        finished = true;
    }

    std::optional<DecodedCluster> next()
    {
        if (finished) {
            return std::nullopt;
        }
        if (!header_known) {
            read_header_size();
        }
        std::optional<formats::ClusterRecord> r = next_wanted();
        if (!r) {
            finish();
            return std::nullopt;
        }
        buf.clear();
        fill_wanted();
        // No window Adler-32 can be checked (windows are not produced whole): each
        // cluster is checked against its changed record instead.
        io::Sha256 sha;
        sha.update(buf);
        const io::Digest digest = sha.finish();
        const auto adler = libdeflate_adler32(1, buf.data(), buf.size());
        if (digest != r->sha256 || adler != r->adler32) {
            refuse_cluster(*r,
                           fmt::format("decoded to SHA-256 {} (Adler-32 {:08x}), its changed record gives {} "
                                       "({:08x})",
                                       io::to_hex(digest), adler, io::to_hex(r->sha256), r->adler32));
        }
        return DecodedCluster{*r, std::move(buf)};
    }
};

ChangedClusterDecoder::ChangedClusterDecoder(io::ByteSource& vcdiff, formats::FullRecordsReader& full_records,
                                             io::ZstdFrameReader& full,
                                             formats::ChangedRecordsReader& changed, std::string name)
    : impl_(std::make_unique<Impl>(vcdiff, full_records, full, changed, std::move(name)))
{
}

ChangedClusterDecoder::~ChangedClusterDecoder() = default;

std::optional<DecodedCluster> ChangedClusterDecoder::next()
{
    return impl_->next();
}

}  // namespace pvediff::engine
