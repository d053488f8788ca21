# SPDX-License-Identifier: GPL-2.0-or-later
# The two-day container pair of the hardening suites (issue 13's reproduction prelude),
# made in the current directory: r/ (the tree), t0.tar (day 1, 2 MiB of random data),
# t1.tar (day 2, 100 KiB appended), c.conf (fullbackup: 7) and the names F (the full),
# A (day 2's archive) and D (the differential F and A make).
tar_pair() {
  mkdir r
  head -c 2M /dev/urandom >r/a
  tar -cf t0.tar -C r .
  head -c 100K /dev/urandom >>r/a
  tar -cf t1.tar -C r .
  printf 'fullbackup: 7\n' >c.conf
  F=vzdump-lxc-101-2026_11_01-01_00_00.tar
  A=vzdump-lxc-101-2026_11_02-01_00_00.tar
  D=$F--differential-2026_11_02-01_00_00.vcdiff
}
