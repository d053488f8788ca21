// SPDX-License-Identifier: GPL-2.0-or-later
// parse_vma_header() (src/formats/vma_header.cpp) on arbitrary header bytes.
//
// A fuzzer cannot forge an MD5, so inputs of even length are first made
// self-consistent (header_size := input length, the MD5 recomputed) and reach the
// blob and device parsing; odd-length inputs are parsed as given and exercise the
// size and MD5 checks. A header that parses is written again with VmaWriter and must
// parse back to the same devices and configs.
#include <algorithm>

#include "fuzz_util.h"
#include "pvediff/formats/vma.h"
#include "pvediff/formats/vma_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    namespace vma = formats::vma;
    std::vector<std::uint8_t> header = fuzz::copy(data, size);
    if (size % 2 == 0 && size >= vma::header_prefix_size) {
        const auto n = static_cast<std::uint32_t>(size);
        header[56] = static_cast<std::uint8_t>(n >> 24);
        header[57] = static_cast<std::uint8_t>(n >> 16);
        header[58] = static_cast<std::uint8_t>(n >> 8);
        header[59] = static_cast<std::uint8_t>(n);
        const formats::Md5 md5 = formats::vma_header_md5(header);
        std::copy(md5.begin(), md5.end(), header.begin() + 32);
    }
    formats::VmaHeader h;
    if (fuzz::refused([&] { h = formats::parse_vma_header(header, "header"); })) {
        return 0;
    }
    FUZZ_CHECK(h.header_size == size);
    FUZZ_CHECK(h.version == 1);
    FUZZ_CHECK(h.devices.size() <= vma::max_devices);
    FUZZ_CHECK(h.configs.size() <= vma::max_configs);
    for (std::size_t i = 0; i < h.devices.size(); ++i) {
        FUZZ_CHECK(h.devices[i].id >= 1);
        FUZZ_CHECK(i == 0 || h.devices[i - 1].id < h.devices[i].id);
        FUZZ_CHECK(h.devices[i].size > 0);
    }
    (void)formats::format_uuid(h.uuid);
    (void)formats::format_utc(h.ctime);

    // Reader and writer agree: what was read can be written and reads back the same.
    std::vector<formats::VmaWriter::Config> configs;
    for (const auto& c : h.configs) {
        configs.push_back({c.name, c.data});
    }
    std::vector<formats::VmaWriter::Device> devices;
    for (const auto& d : h.devices) {
        devices.push_back({d.name, d.size});
    }
    io::MemorySink out;
    if (fuzz::refused([&] { formats::VmaWriter(out, h.uuid, h.ctime, configs, devices).finish(); })) {
        return 0;
    }
    const auto written = out.data();
    FUZZ_CHECK(written.size() >= vma::header_prefix_size);
    const std::uint32_t written_size = formats::vma_header_size(written, "rewritten");
    FUZZ_CHECK(written_size <= written.size());
    const formats::VmaHeader again =
        formats::parse_vma_header(std::span(written).first(written_size), "rewritten");
    FUZZ_CHECK(again.uuid == h.uuid && again.ctime == h.ctime);
    FUZZ_CHECK(again.devices.size() == h.devices.size());
    for (std::size_t i = 0; i < h.devices.size(); ++i) {
        FUZZ_CHECK(again.devices[i].name == h.devices[i].name && again.devices[i].size == h.devices[i].size);
    }
    FUZZ_CHECK(again.configs.size() == h.configs.size());
    for (std::size_t i = 0; i < h.configs.size(); ++i) {
        FUZZ_CHECK(again.configs[i].name == h.configs[i].name && again.configs[i].data == h.configs[i].data);
    }
    return 0;
}
