// SPDX-License-Identifier: GPL-2.0-or-later
// The config parser (store::parse_config, which load_config uses, and apply_setting /
// parse_keep_options through it) on arbitrary text; a config that parses must resolve
// for the global scope and for every guest it mentions.
#include "fuzz_util.h"
#include "pvediff/store/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace pvediff;
    const std::string_view text = fuzz::text(data, size);
    store::Config config;
    if (!fuzz::refused([&] { config = store::parse_config(text, "pvediff.conf"); })) {
        const auto g = config.effective_global();
        FUZZ_CHECK(g.max_diff_ratio > 0.0 && g.max_diff_ratio <= 1.0);
        FUZZ_CHECK(g.fullbackup.count() >= 0 && g.lock_timeout.count() >= 0);
        (void)g.keep.str();
        for (const auto& [vmid, settings] : config.per_vmid) {
            FUZZ_CHECK(vmid > 0);
            const auto e = config.effective_for(vmid);
            FUZZ_CHECK(e.max_diff_ratio > 0.0 && e.max_diff_ratio <= 1.0);
            // keep-* options as vzdump spells them read back to the same retention.
            if (!e.keep.keeps_everything()) {
                FUZZ_CHECK(store::parse_keep_options(e.keep.str()) == e.keep);
            }
        }
    }
    // The same text as one command-line value of each key.
    for (const char* key : {"fullbackup", "prune-backups", "dumpdir", "max-diff-ratio", "lock-timeout"}) {
        store::Settings s;
        fuzz::refused([&] { store::apply_setting(s, key, text); });
    }
    return 0;
}
