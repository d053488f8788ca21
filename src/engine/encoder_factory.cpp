// SPDX-License-Identifier: GPL-2.0-or-later
// The encoder registry: one line per engine. "default" names the best one.
#include <array>
#include <string>

#include "pvediff/engine/chunk_encoder.h"
#include "pvediff/engine/delta.h"
#include "pvediff/engine/smaller_of_encoder.h"
#include "pvediff/io/error.h"

namespace pvediff::engine {

namespace {

struct EngineEntry {
    std::string_view name;
    std::unique_ptr<Encoder> (*make)();
};

constexpr std::array engines = {
    // Small inputs also through plain xdelta3, keeping the smaller (smaller_of_encoder.h).
    EngineEntry{"chunked", [] { return make_smaller_of_encoder(make_chunk_encoder()); }},
    EngineEntry{"xdelta3", [] { return make_xdelta3_encoder(); }},
};

constexpr std::string_view default_engine = "chunked";

}  // namespace

std::unique_ptr<Encoder> make_encoder(std::string_view name)
{
    const std::string_view wanted = name == "default" ? default_engine : name;
    std::string available;
    for (const EngineEntry& e : engines) {
        if (e.name == wanted) {
            return e.make();
        }
        available += (available.empty() ? "" : ", ") + std::string(e.name);
    }
    throw io::Error(fmt::format("unknown delta engine '{}' (available: {})", name, available));
}

}  // namespace pvediff::engine
