// SPDX-License-Identifier: GPL-2.0-or-later
// engine::ChunkIndex::load of an arbitrary sidecar (version 5, sorted, with the
// content's SHA-256 and XXH3-128; version 4, with the SHA-256 only; version 3, sorted,
// without either; or version 2, sorted on the way in), then lookups of every key the
// file holds.
//
// Oracles: a version 5 file that loads saves back byte for byte (its layout has one
// form); an older one saves as version 5, longer by the hashes it did not have (as
// zeros: unknown); any file that loads finds each of its chunk and cluster keys at a
// location inside the content.
// The loader reads a file by name, so each input is written to one file in a
// directory of its own (also the scratch directory a version 2 file is sorted in).
#include <xxhash.h>

#include <cstring>

#include "fuzz_util.h"
#include "pvediff/engine/chunk_index.h"
#include "pvediff/io/byte_stream.h"
#include "pvediff/io/bytes.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    // A fuzzer cannot forge the checksum: inputs of even length get theirs made right,
    // odd ones keep the check itself covered.
    auto file = fuzz::copy(data, size);
    if (size >= 8 && size % 2 == 0) {
        const std::uint64_t sum = XXH3_64bits(file.data(), size - 8);
        for (std::size_t i = 0; i < 8; ++i) {
            file[size - 8 + i] = static_cast<std::uint8_t>(sum >> (8 * i));
        }
    }
    data = file.data();
    const auto path = fuzz::work_dir() / "x.pvediff-index";
    fuzz::write_file(path, file);
    engine::ChunkIndex index;
    if (fuzz::refused([&] { index = engine::ChunkIndex::load(path); })) {
        return 0;
    }
    const std::uint32_t version = io::load_le32(data + 8);
    const std::size_t header = version >= 5 ? 120 : version == 4 ? 104 : 72;
    FUZZ_CHECK(size + (120 - header) == index.file_bytes());
    FUZZ_CHECK(version >= 4 || !index.content_sha256());
    FUZZ_CHECK(version >= 5 || !index.content_xxh128());
    // Every chunk and cluster key of the file is found, inside the content.
    for (std::uint64_t i = 0; i < index.entry_count() + index.cluster_count(); ++i) {
        const std::uint64_t key = io::load_le64(data + header + i * 16);
        const auto loc = i < index.entry_count() ? index.find(key) : index.find_cluster(key);
        FUZZ_CHECK(loc.has_value());
        FUZZ_CHECK(loc->length > 0 && loc->offset + loc->length <= index.content_size());
    }
    io::MemorySink saved;
    index.save(saved);
    FUZZ_CHECK(saved.data().size() == index.file_bytes());
    if (version == 5) {
        FUZZ_CHECK(std::memcmp(saved.data().data(), data, size) == 0);
    }
    return 0;
}
