// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// An xdelta3 stream (xd3_stream) owned for its whole life, for the encoder and the
// decoder alike: set up from the few settings in which the two differ, freed whatever
// happens, and a failed setup reported with xdelta3's own message.
#include <string>

#include "pvediff/io/error.h"

extern "C" {
#include "xdelta3.h"
}

namespace pvediff::engine::detail {

// What is not left at xd3_init_config's zeros.
struct Xd3StreamSettings {
    int flags = 0;  // XD3_* flags of the stream
    usize_t winsize = XD3_DEFAULT_WINSIZE;
    xd3_smatch_cfg smatch_cfg = XD3_SMATCH_DEFAULT;  // the encoder's matcher
    xd3_getblk_func* getblk = nullptr;               // source blocks on request (encoder)
    void* opaque = nullptr;                          // stream->opaque, for getblk
};

class Xd3Stream {
public:
    // `role` names the stream in the error: "encoder" or "decoder".
    Xd3Stream(const std::string& role, const Xd3StreamSettings& settings)
    {
        xd3_config config;
        xd3_init_config(&config, 0);
        config.winsize = settings.winsize;
        config.smatch_cfg = settings.smatch_cfg;
        config.flags = settings.flags;
        config.getblk = settings.getblk;
        config.opaque = settings.opaque;
        if (const int ret = xd3_config_stream(&stream_, &config); ret != 0) {
            const std::string msg = stream_.msg ? stream_.msg : xd3_strerror(ret);
            xd3_free_stream(&stream_);
            throw io::Error(fmt::format("xdelta3: cannot set up the {}: {}", role, msg));
        }
    }
    ~Xd3Stream() { xd3_free_stream(&stream_); }
    Xd3Stream(const Xd3Stream&) = delete;
    Xd3Stream& operator=(const Xd3Stream&) = delete;
    xd3_stream* get() { return &stream_; }

private:
    xd3_stream stream_{};
};

}  // namespace pvediff::engine::detail
