// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Internal: the tar layout parser behind make_layout_parser(ArchiveFormat::tar), and
// the header primitives detect_format() and the tar verifier share with it.
#include <cstdint>
#include <optional>
#include <span>

#include "layout_run.h"
#include "pvediff/formats/layout.h"

namespace pvediff::formats::tar {

inline constexpr std::size_t record = 512;

bool is_zero_record(std::span<const std::uint8_t> h);
// The header checksum, computed both unsigned and signed (old tars), as readers do.
bool checksum_ok(std::span<const std::uint8_t> h);
// A numeric field: octal (leading spaces, ending at NUL or space) or GNU base-256.
std::optional<std::uint64_t> number(std::span<const std::uint8_t> field);

class LayoutParser final : public formats::LayoutParser {
public:
    LayoutParser() { collector_.start(0, record); }
    void feed(std::span<const std::uint8_t> data, std::vector<Region>& out) override;
    void finish(std::vector<Region>& out) override;
    [[nodiscard]] std::uint64_t offset() const override { return pos_; }
    [[nodiscard]] bool opaque() const override { return state_ == State::opaque; }

    // Members seen (headers other than long names, pax headers and zero records).
    [[nodiscard]] std::uint64_t members() const { return members_; }
    // After finish(): the stream ended at a record boundary after an end-of-archive
    // zero record, with nothing it did not understand.
    [[nodiscard]] bool clean_end() const { return clean_end_; }

private:
    enum class State { header, sparse_ext, pax, data, padding, meta, opaque };

    void step(std::vector<Region>& out);
    void on_header(std::vector<Region>& out);
    void on_pax(std::vector<Region>& out);
    void start_header();
    void start_member_data(std::vector<Region>& out);
    void go_opaque(std::vector<Region>& out);

    State state_ = State::header;
    std::uint64_t pos_ = 0;
    detail::Collector collector_;
    detail::RegionRun run_;
    std::uint64_t members_ = 0;
    std::uint64_t data_size_ = 0;  // of the member whose headers are being read
    std::optional<std::uint64_t> pax_size_;
    bool after_zero_ = false;
    bool clean_end_ = false;
};

}  // namespace pvediff::formats::tar
