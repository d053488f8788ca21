// SPDX-License-Identifier: GPL-2.0-or-later
// The cluster records of a VMA backup are a sidecar of it: listed with it and
// removed with it (prune), an orphan when its backup is gone.
#include <gtest/gtest.h>

#include <algorithm>

#include "pvediff/store/dump_dir.h"
#include "pvediff/store/entry_name.h"
#include "test_store_helpers.h"
#include "test_util.h"

using namespace pvediff;
using namespace pvediff::store;
using pvediff::test::touch;

TEST(VmaClustersSidecar, GoesWithItsBackup)
{
    const std::string full = "vzdump-qemu-100-2026_11_18-01_00_00.vma.zst";
    const std::string diff = full + "--differential-2026_11_19-01_00_00.vcdiff.zst";
    const auto e = classify_entry_name(diff + ".pvediff-vma-clusters");
    EXPECT_EQ(e.kind, EntryKind::vma_clusters);
    EXPECT_EQ(e.owner, diff);
    EXPECT_EQ(entry_kind_name(e.kind), "vma-clusters");

    test::TempDir tmp;
    touch(tmp.path() / full, "x");
    touch(tmp.path() / (full + ".pvediff-vma-clusters"), "x");
    touch(tmp.path() / diff, "x");
    touch(tmp.path() / (diff + ".pvediff-vma-clusters"), "x");
    touch(tmp.path() / "vzdump-qemu-100-2026_11_10-01_00_00.vma.zst.pvediff-vma-clusters", "x");
    const DumpDir d = scan_dump_dir(tmp.path());
    ASSERT_EQ(d.guests.size(), 1u);
    ASSERT_EQ(d.guests[0].chains.size(), 1u);
    const auto& chain = d.guests[0].chains[0];
    EXPECT_EQ(chain.full.sidecars.vma_clusters, full + ".pvediff-vma-clusters");
    ASSERT_EQ(chain.differentials.size(), 1u);
    const auto removable = chain.differentials[0].sidecars.removable_files();
    EXPECT_NE(std::find(removable.begin(), removable.end(), diff + ".pvediff-vma-clusters"), removable.end());
    ASSERT_EQ(d.guests[0].orphan_sidecars.size(), 1u);
    EXPECT_EQ(d.guests[0].orphan_sidecars[0].name,
              "vzdump-qemu-100-2026_11_10-01_00_00.vma.zst.pvediff-vma-clusters");
}
