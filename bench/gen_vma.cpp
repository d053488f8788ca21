// SPDX-License-Identifier: GPL-2.0-or-later
// Benchmark tool: writes a raw disk image as a VMA archive the way vzdump does, on
// pvediff's VmaWriter, and checks VMA files with pvediff's verifier.
//
//   gen_vma IMAGE OUT.vma --order SEED [--ctime SECONDS]
//   gen_vma --verify FILE.vma
//
// Clusters arrive in the order 16 parallel copy workers deliver them: each worker
// copies a contiguous sixteenth of the disk in sequence, and the writer receives
// runs of 1 to 8 clusters from a random worker at a time. The seed also picks the
// archive's uuid and ctime, so every archive of the same image differs as vzdump's do.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "pvediff/formats/vma_verify.h"
#include "pvediff/formats/vma_writer.h"
#include "pvediff/io/atomic_file.h"
#include "pvediff/io/error.h"
#include "pvediff/io/fd.h"
#include "pvediff/io/file_stream.h"

namespace {

constexpr std::uint64_t cluster_size = 65536;
constexpr unsigned workers = 16;

constexpr const char* qemu_conf =
    "boot: order=scsi0;net0\ncores: 2\ncpu: x86-64-v2-AES\nmemory: 4096\n"
    "meta: creation-qemu=8.1.5,ctime=1795000000\nname: bench-vm\n"
    "net0: virtio=BC:24:11:5A:3E:01,bridge=vmbr0,firewall=1\nnuma: 0\nostype: l26\n"
    "scsi0: local-lvm:vm-101-disk-0,iothread=1\nscsihw: virtio-scsi-single\n"
    "smbios1: uuid=6c2b9d1e-6f0e-4b8e-9d1e-3a5c1f0e2d11\nsockets: 1\n"
    "vmgenid: 1f7e4b4a-2c1d-4c9a-8a4e-5b7f0c2d9e33\n#qmdump#map:scsi0:drive-scsi0:local-lvm:raw:\n";

std::vector<std::uint32_t> cluster_order(std::uint32_t clusters, std::mt19937_64& rng)
{
    struct Stream {
        std::uint32_t next;
        std::uint32_t end;
    };
    std::vector<Stream> streams;
    for (unsigned w = 0; w < workers; ++w) {
        const auto begin = static_cast<std::uint32_t>(std::uint64_t{clusters} * w / workers);
        const auto end = static_cast<std::uint32_t>(std::uint64_t{clusters} * (w + 1) / workers);
        if (begin < end) {
            streams.push_back({begin, end});
        }
    }
    std::vector<std::uint32_t> order;
    order.reserve(clusters);
    while (!streams.empty()) {
        const std::size_t s = rng() % streams.size();
        const auto run = static_cast<std::uint32_t>(1 + rng() % 8);
        Stream& st = streams[s];
        const std::uint32_t take = std::min(run, st.end - st.next);
        for (std::uint32_t i = 0; i < take; ++i) {
            order.push_back(st.next + i);
        }
        st.next += take;
        if (st.next == st.end) {
            streams.erase(streams.begin() + static_cast<std::ptrdiff_t>(s));
        }
    }
    return order;
}

int write_vma(const std::string& image, const std::string& out_path, std::uint64_t seed, std::int64_t ctime_base)
{
    const pvediff::io::Fd in = pvediff::io::open_fd(image, O_RDONLY);
    struct stat st {};
    if (::fstat(in.get(), &st) != 0 || st.st_size <= 0) {
        throw pvediff::io::Error("cannot stat '" + image + "' or it is empty");
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const auto clusters = static_cast<std::uint32_t>((size + cluster_size - 1) / cluster_size);

    std::mt19937_64 rng(seed);
    pvediff::formats::Uuid uuid{};
    for (auto& b : uuid) {
        b = static_cast<std::uint8_t>(rng());
    }
    const std::int64_t ctime =
        ctime_base + static_cast<std::int64_t>(seed) * 86400 + static_cast<std::int64_t>(rng() % 3600);

    pvediff::io::AtomicFile out(out_path);
    pvediff::formats::VmaWriter writer(out.sink(), uuid, ctime, {{"qemu-server.conf", qemu_conf}},
                                       {{"drive-scsi0", size}});
    std::vector<std::uint8_t> buf(cluster_size);
    for (const std::uint32_t c : cluster_order(clusters, rng)) {
        const std::uint64_t offset = std::uint64_t{c} * cluster_size;
        const std::size_t len = static_cast<std::size_t>(std::min(cluster_size, size - offset));
        pvediff::io::pread_exact(in.get(), std::span(buf.data(), len), offset, image);
        writer.add_cluster(1, c, std::span<const std::uint8_t>(buf.data(), len));
    }
    writer.finish();
    out.sink().finish();
    out.commit();
    std::fprintf(stderr, "gen_vma: %s: %u clusters, %llu extents, %llu bytes\n", out_path.c_str(), clusters,
                 static_cast<unsigned long long>(writer.extents_written()),
                 static_cast<unsigned long long>(writer.bytes_written()));
    return 0;
}

int verify(const std::string& path)
{
    pvediff::io::FileSource source(path);
    const auto report = pvediff::formats::verify_vma(source);
    std::printf("%s: %s, %llu extents, %llu blocks, %llu/%llu clusters\n", path.c_str(),
                report.ok ? "ok" : "INVALID", static_cast<unsigned long long>(report.extents),
                static_cast<unsigned long long>(report.blocks),
                static_cast<unsigned long long>(report.clusters_seen),
                static_cast<unsigned long long>(report.clusters_expected));
    for (const auto& p : report.problems) {
        std::printf("  %s\n", p.c_str());
    }
    return report.ok ? 0 : 1;
}

int usage()
{
    std::fprintf(stderr, "usage: gen_vma IMAGE OUT.vma --order SEED [--ctime SECONDS]\n"
                         "       gen_vma --verify FILE.vma\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 2 && args[0] == "--verify") {
            return verify(args[1]);
        }
        std::vector<std::string> positional;
        std::uint64_t seed = 0;
        bool have_seed = false;
        std::int64_t ctime = 1795651200;
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (args[i] == "--order" && i + 1 < args.size()) {
                seed = std::stoull(args[++i]);
                have_seed = true;
            } else if (args[i] == "--ctime" && i + 1 < args.size()) {
                ctime = std::stoll(args[++i]);
            } else {
                positional.push_back(args[i]);
            }
        }
        if (positional.size() != 2 || !have_seed) {
            return usage();
        }
        return write_vma(positional[0], positional[1], seed, ctime);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gen_vma: error: %s\n", e.what());
        return 1;
    }
}
