// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Owners of the C libraries' contexts, freed by the library's own function: one
// definition each, for every layer that holds one.
#include <openssl/evp.h>
#include <zstd.h>

#include <memory>

namespace pvediff::io {

struct ZstdDCtxFree {
    void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};
struct ZstdCCtxFree {
    void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct EvpMdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

using ZstdDCtx = std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree>;
using ZstdCCtx = std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree>;
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

}  // namespace pvediff::io
