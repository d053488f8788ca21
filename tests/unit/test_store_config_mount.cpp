// SPDX-License-Identifier: GPL-2.0-or-later
// The configuration keys of `pvediff mount` (the systemd unit runs it without arguments).
#include <gtest/gtest.h>

#include "pvediff/io/error.h"
#include "pvediff/store/config.h"

using namespace pvediff;
using namespace pvediff::store;

namespace {

TEST(StoreConfigMount, ReadsMountSourceAndPoint)
{
    const Config c =
        parse_config("mount-source: /var/lib/vz/dump\nmount-point: /mnt/pvediff-view/dump\n", "x");
    const EffectiveSettings e = c.effective_global();
    EXPECT_EQ(e.mount_source, "/var/lib/vz/dump");
    EXPECT_EQ(e.mount_point, "/mnt/pvediff-view/dump");
    EXPECT_TRUE(parse_config("", "x").effective_global().mount_point.empty());
}

TEST(StoreConfigMount, RefusesRelativePathsAndPerGuestKeys)
{
    EXPECT_THROW((void)parse_config("mount-point: mnt\n", "x"), io::Error);
    EXPECT_THROW((void)parse_config("mount-source: \n", "x"), io::Error);
    EXPECT_THROW((void)parse_config("vmid-101-mount-point: /mnt/x\n", "x"), io::Error);
    // The same rules for tmpdir, the scratch files' directory.
    EXPECT_THROW((void)parse_config("tmpdir: var/tmp\n", "x"), io::Error);
    EXPECT_THROW((void)parse_config("vmid-101-tmpdir: /var/tmp\n", "x"), io::Error);
}

}  // namespace
