#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Builds the day-1 guest file tree for the benchmark from files on this machine.

The tree looks like a small container root: usr/ (a deterministic sample of /usr),
etc/ (readable config files from /etc), var/log/ (syslog-like logs) and
var/lib/pkgdb/packages.db (an SQLite database with 4 KiB pages). Files that are
sampled but not put into the tree are listed in pool.json; the day-2 plan takes new
package files and replacement contents from there, so day 2 adds real content too.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import stat
import sys

SOURCE_DIRS = ["/usr/lib", "/usr/share", "/usr/bin", "/usr/sbin", "/usr/include",
               "/usr/libexec", "/usr/lib32"]
MAX_FILE = 64 << 20
# debugfs scripts take paths unquoted; keep names it parses without surprises.
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+/@,:=~")
# Never copy secrets of this machine into benchmark data.
PRIVATE = re.compile(r"shadow|passwd|key|secret|token|credential|ssl/private|\.pem$|sudoers", re.I)
DAY1_TIME = 1795651200  # 2026-11-24 00:00 UTC: fixed so archives are reproducible


def safe_path(p):
    return all(c in SAFE for c in p)


def scan(dirs):
    """All regular, readable, non-empty files under dirs: (path, size)."""
    files = []
    for top in dirs:
        for root, dnames, fnames in os.walk(top):
            dnames.sort()
            for name in sorted(fnames):
                p = os.path.join(root, name)
                if not safe_path(p):
                    continue
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and 0 < st.st_size <= MAX_FILE and os.access(p, os.R_OK):
                    files.append((p, st.st_size))
    return files


def sample_key(path, seed):
    return hashlib.sha1(f"{seed}:{path}".encode()).digest()


def copy_file(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)
    st = os.stat(src)
    os.chmod(dst, stat.S_IMODE(st.st_mode) & 0o7777)
    os.utime(dst, (st.st_mtime, st.st_mtime))


LOG_TEMPLATES = [
    "{host} systemd[1]: Started Session {n} of User root.",
    "{host} systemd[1]: session-{n}.scope: Deactivated successfully.",
    "{host} sshd[{pid}]: Accepted publickey for root from 10.0.{a}.{b} port {port} ssh2: ED25519 SHA256:{h}",
    "{host} sshd[{pid}]: pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)",
    "{host} CRON[{pid}]: (root) CMD (   test -x /etc/cron.daily/popularity-contest && /etc/cron.daily/popularity-contest --crond)",
    "{host} postfix/qmgr[{pid}]: {q}: from=<root@{host}.lan>, size={size}, nrcpt=1 (queue active)",
    "{host} postfix/local[{pid}]: {q}: to=<root@{host}.lan>, relay=local, delay=0.0{a}, status=sent (delivered to mailbox)",
    "{host} nginx[{pid}]: 10.0.{a}.{b} - - \"GET /api/v1/items/{n}?page={a} HTTP/1.1\" 200 {size} \"-\" \"curl/7.88.1\"",
    "{host} kernel: [{k}.{pid}] audit: type=1400 audit({k}.{a}:{n}): apparmor=\"STATUS\" operation=\"profile_load\"",
    "{host} dhclient[{pid}]: DHCPACK of 10.0.{a}.{b} from 10.0.0.1 (xid=0x{h8})",
    "{host} postgres[{pid}]: LOG:  checkpoint complete: wrote {a} buffers ({b}.0%); 0 WAL file(s) added, 0 removed",
]


def log_lines(rng, count, start_time, host="ct101"):
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    t = start_time
    for _ in range(count):
        t += rng.randint(0, 7)
        lt = __import__("time").gmtime(t)
        head = f"{months[lt.tm_mon - 1]} {lt.tm_mday:2d} {lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d} "
        tpl = rng.choice(LOG_TEMPLATES)
        yield head + tpl.format(
            host=host, n=rng.randint(1, 99999), pid=rng.randint(300, 65000), a=rng.randint(0, 255),
            b=rng.randint(1, 254), port=rng.randint(1024, 65535), size=rng.randint(200, 90000),
            h=hashlib.sha256(str(rng.random()).encode()).hexdigest()[:43], q=f"{rng.getrandbits(40):010X}",
            k=rng.randint(10, 999999), h8=f"{rng.getrandbits(32):08x}") + "\n"


def make_logs(tree, rng, total):
    names = ["var/log/syslog", "var/log/auth.log", "var/log/mail.log", "var/log/nginx/access.log"]
    per = total // len(names)
    for name in names:
        p = os.path.join(tree, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            written = 0
            for line in log_lines(rng, 10**9, DAY1_TIME - 30 * 86400):
                f.write(line)
                written += len(line)
                if written >= per:
                    break
        os.utime(p, (DAY1_TIME, DAY1_TIME))


def make_db(path, files, rng, target):
    """A package database: one row per file with path, size, digest and a text blob."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=4096")
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, pkg TEXT, path TEXT, size INTEGER,"
                " mtime INTEGER, sha256 TEXT, note TEXT)")
    con.execute("CREATE INDEX files_path ON files(path)")
    rows = 0
    i = 0
    while True:
        for p, size in files:
            pkg = p.split("/")[3] if p.count("/") > 3 else "base"
            digest = hashlib.sha256(f"{p}:{i}".encode()).hexdigest()
            note = f"installed by dpkg, conffile={rng.random() < 0.1}, arch=amd64, " * rng.randint(1, 6)
            con.execute("INSERT INTO files (pkg, path, size, mtime, sha256, note) VALUES (?,?,?,?,?,?)",
                        (pkg, p, size, DAY1_TIME - rng.randint(0, 10**7), digest, note))
            rows += 1
            if rows % 2000 == 0:
                con.commit()
                if os.path.getsize(path) >= target:
                    break
        else:
            i += 1
            continue
        break
    # Leave a free list behind, as a long-lived database has, so day-2 updates reuse
    # pages in place instead of growing the file.
    (n,) = con.execute("SELECT max(id) FROM files").fetchone()
    # Debian builds SQLite with secure_delete on; zeroed free pages would become
    # holes in the filesystem image.
    con.execute("PRAGMA secure_delete=OFF")
    con.execute("DELETE FROM files WHERE id BETWEEN ? AND ?", (n // 3, n // 3 + n // 16))
    con.commit()
    con.close()
    os.utime(path, (DAY1_TIME, DAY1_TIME))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, required=True, help="target tree size in bytes")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pool", required=True, help="write the unused sampled files here (json)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)

    # etc/: small text configs, as a container has.
    etc_bytes = 0
    for p, size in scan(["/etc"]):
        if size > 256 << 10 or etc_bytes > max(a.size // 400, 1 << 20) or PRIVATE.search(p):
            continue
        try:
            copy_file(p, os.path.join(a.out, p.lstrip("/")))
            etc_bytes += size
        except OSError:
            pass

    log_total = a.size // 100
    db_total = a.size // 50
    usr_target = a.size - etc_bytes - log_total - db_total
    files = scan(SOURCE_DIRS)
    files.sort(key=lambda f: sample_key(f[0], a.seed))
    chosen, total, k = [], 0, 0
    skipped = []
    while k < len(files) and total < usr_target:
        if total + files[k][1] > usr_target * 1.01:
            skipped.append(files[k])  # would overshoot the size: left for the pool
        else:
            chosen.append(files[k])
            total += files[k][1]
        k += 1
    if total < usr_target:
        sys.exit(f"gen_tree: only {total} bytes of source files under {SOURCE_DIRS}")
    for p, _ in chosen:
        copy_file(p, os.path.join(a.out, p.lstrip("/")))
    make_logs(a.out, rng, log_total)
    make_db(os.path.join(a.out, "var/lib/pkgdb/packages.db"), chosen, rng, db_total)
    pool = skipped[:1000] + files[k:k + 20000]
    with open(a.pool, "w") as f:
        json.dump({"pool": pool, "tree_files": [p.lstrip("/") for p, _ in chosen]}, f)
    print(f"gen_tree: {len(chosen)} files from /usr ({total >> 20} MiB), etc {etc_bytes >> 10} KiB,"
          f" logs {log_total >> 20} MiB, db {os.path.getsize(os.path.join(a.out, 'var/lib/pkgdb/packages.db')) >> 20} MiB")


if __name__ == "__main__":
    main()
