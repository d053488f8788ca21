#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Day-2 changes of the benchmark guest: one plan, applied to a file tree (for the
container tar) and, through debugfs, to the ext4 disk image (for the VM's VMA).

  plan   --tree T --pool P --stage S --plan OUT --size BYTES --seed N
  tree   --plan PLAN --tree T           apply the plan to the file tree
  image  --plan PLAN --image IMG --offset BYTES    apply it inside the filesystem
  touch  --tree T --seed N              mtime-only changes (the "unchanged" guest)

The plan holds: a new ~50 MB (at 2 GB) package directory early in archive order
(opt/ sorts before usr/), removed files, rewritten files (edited copies like an
upgrade, and whole new versions), grown logs, an SQLite database updated in place
(rewritten 4 KiB pages) and small config edits.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys

DAY2_TIME = 1795651200 + 86400
BLOCK = 4096


def edited_copy(data, rng):
    """An upgraded file: a few overwritten, inserted and deleted regions."""
    out = bytearray(data)
    for _ in range(min(8, 1 + len(out) // 65536)):
        if not out:
            break
        pos = rng.randrange(len(out))
        kind = rng.random()
        if kind < 0.5:
            n = rng.randint(16, 512)
            src = rng.randrange(len(out))
            out[pos:pos + n] = out[src:src + n]
        elif kind < 0.8:
            out[pos:pos] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
        else:
            del out[pos:pos + rng.randint(1, 300)]
    return bytes(out)


def is_text(path):
    with open(path, "rb") as f:
        return b"\0" not in f.read(4096)


def plan(a):
    rng = random.Random(a.seed * 7919 + 2)
    with open(a.pool) as f:
        pool = json.load(f)
    src_pool = [p for p, _ in pool["pool"]]
    tree_files = list(pool["tree_files"])
    os.makedirs(a.stage, exist_ok=True)
    ops = []

    def stage_file(name, data):
        p = os.path.join(a.stage, f"{len(ops):06d}-{os.path.basename(name)}")
        with open(p, "wb") as f:
            f.write(data)
        return p

    # 1. New package, early in archive order.
    pkg = "opt/newpkg-2.4.1"
    ops += [{"op": "mkdir", "path": "opt"}, {"op": "mkdir", "path": pkg}]
    pkg_bytes, seen, k = 0, set(), 0
    target = a.size * 25 // 1000
    while pkg_bytes < target and k < len(src_pool):
        src = src_pool[k]
        k += 1
        if os.path.getsize(src) > target // 2:
            continue  # one huge file is not a package directory
        sub = src.split("/")[2]  # lib, share, bin, ...
        name = os.path.basename(src)
        if (sub, name) in seen:
            continue
        if sub not in {s for s, _ in seen}:
            ops.append({"op": "mkdir", "path": f"{pkg}/{sub}"})
        seen.add((sub, name))
        ops.append({"op": "write", "path": f"{pkg}/{sub}/{name}", "src": src, "new": True})
        pkg_bytes += os.path.getsize(src)

    # 2./3. Removed and rewritten files of usr/.
    rng.shuffle(tree_files)
    n_rm = max(1, len(tree_files) // 100)
    n_rw = max(1, len(tree_files) // 200)
    for p in tree_files[:n_rm]:
        ops.append({"op": "rm", "path": p})
    for p in tree_files[n_rm:n_rm + n_rw]:
        if rng.random() < 0.6 or k >= len(src_pool):
            with open(os.path.join(a.tree, p), "rb") as f:
                src = stage_file(p, edited_copy(f.read(), rng))
        else:
            src = src_pool[k]
            k += 1
        ops.append({"op": "write", "path": p, "src": src, "new": False})

    # 4. Grown logs.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gen_tree import log_lines
    for log in ["var/log/syslog", "var/log/auth.log", "var/log/mail.log", "var/log/nginx/access.log"]:
        with open(os.path.join(a.tree, log), "rb") as f:
            data = f.read()
        extra = "".join(log_lines(rng, len(data) // 90 // rng.randint(7, 20), DAY2_TIME - 86400)).encode()
        ops.append({"op": "write", "path": log, "src": stage_file(log, data + extra), "new": False})

    # 5. Database pages rewritten in place.
    db = "var/lib/pkgdb/packages.db"
    staged = stage_file(db, b"")
    shutil.copyfile(os.path.join(a.tree, db), staged)
    con = sqlite3.connect(staged)
    (n,) = con.execute("SELECT max(id) FROM files").fetchone()
    for _ in range(max(1, n // 200)):
        con.execute("UPDATE files SET mtime = ?, sha256 = ? WHERE id = ?",
                    (DAY2_TIME, f"{rng.getrandbits(256):064x}", rng.randint(1, n)))
    for _ in range(max(1, n // 500)):
        con.execute("DELETE FROM files WHERE id = ?", (rng.randint(1, n),))
    for i in range(max(1, n // 500)):
        con.execute("INSERT INTO files (pkg, path, size, mtime, sha256, note) VALUES (?,?,?,?,?,?)",
                    ("newpkg", f"/opt/newpkg-2.4.1/file{i}", rng.randint(1, 10**6), DAY2_TIME,
                     f"{rng.getrandbits(256):064x}", "installed by dpkg, arch=amd64"))
    con.commit()
    con.close()
    same = os.path.getsize(staged) == os.path.getsize(os.path.join(a.tree, db))
    db_op = "inplace" if same else "write"
    ops.append({"op": db_op, "path": db, "src": staged, "new": False})

    # 6. Small config edits.
    etc = sorted(os.path.relpath(os.path.join(r, f), a.tree)
                 for r, _, fs in os.walk(os.path.join(a.tree, "etc")) for f in fs)
    etc = [p for p in etc if os.path.isfile(os.path.join(a.tree, p)) and not os.path.islink(os.path.join(a.tree, p))
           and is_text(os.path.join(a.tree, p))]
    for p in rng.sample(etc, min(30, len(etc))):
        with open(os.path.join(a.tree, p), "rb") as f:
            lines = f.read().split(b"\n")
        i = rng.randrange(len(lines))
        lines[i] = lines[i] + b"  # changed by admin on day 2"
        lines.insert(rng.randrange(len(lines) + 1), b"option_%d = %d" % (rng.getrandbits(16), rng.getrandbits(20)))
        ops.append({"op": "write", "path": p, "src": stage_file(p, b"\n".join(lines)), "new": False})

    with open(a.plan, "w") as f:
        json.dump(ops, f, indent=0)
    print(f"gen_day2: plan with {len(ops)} operations: package {pkg_bytes >> 20} MiB, "
          f"{n_rm} removed, {n_rw} rewritten, 4 logs grown, db {db_op}, "
          f"{min(30, len(etc))} config edits")


def apply_tree(a):
    with open(a.plan) as f:
        ops = json.load(f)
    for i, op in enumerate(ops):
        dst = os.path.join(a.tree, op["path"])
        if op["op"] == "mkdir":
            os.makedirs(dst, exist_ok=True)
        elif op["op"] == "rm":
            os.remove(dst)
        else:
            if os.path.exists(dst):
                os.remove(dst)  # a new inode, as dpkg and editors do
            shutil.copyfile(op["src"], dst)
            shutil.copymode(op["src"], dst)
            os.utime(dst, (DAY2_TIME + i, DAY2_TIME + i))


def debugfs(image_spec, commands):
    r = subprocess.run(["debugfs", "-w", "-f", "-", image_spec], input="\n".join(commands) + "\n",
                       capture_output=True, text=True)
    errors = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith("debugfs ")]
    if r.returncode != 0 or errors:
        sys.exit(f"gen_day2: debugfs failed on {image_spec}: {errors[:5]}")
    return r.stdout


def apply_image(a):
    with open(a.plan) as f:
        ops = json.load(f)
    spec = f"{a.image}?offset={a.offset}"
    cmds = []
    inplace = []
    for op in ops:
        p = "/" + op["path"]
        if op["op"] == "mkdir":
            cmds.append(f"mkdir {p}")
        elif op["op"] == "rm":
            cmds.append(f"rm {p}")
        elif op["op"] == "write":
            if not op["new"]:
                cmds.append(f"rm {p}")
            cmds.append(f"write {op['src']} {p}")
        else:
            inplace.append(op)
    debugfs(spec, cmds)
    # In-place page rewrites: write the changed 4 KiB blocks where the file's blocks are.
    pages = 0
    with open(a.image, "r+b") as img:
        for op in inplace:
            # bmap per logical block: `blocks` would list extent-tree blocks too.
            n = (os.path.getsize(op["src"]) + BLOCK - 1) // BLOCK
            out = subprocess.run(["debugfs", "-f", "-", spec], capture_output=True, text=True, check=True,
                                 input="".join(f"bmap /{op['path']} {i}\n" for i in range(n))).stdout
            blocks = [int(l) for l in out.split("\n") if l.strip().isdigit()]
            if len(blocks) != n:
                sys.exit(f"gen_day2: bmap of {op['path']} gave {len(blocks)} blocks, expected {n}")
            with open(op["src"], "rb") as f:
                new_pages = [f.read(BLOCK) for _ in blocks]
            if any(blk == 0 and page.count(0) != len(page) for blk, page in zip(blocks, new_pages)):
                # A hole that now needs data: let the filesystem allocate (rm + write).
                img.flush()
                debugfs(spec, [f"rm /{op['path']}", f"write {op['src']} /{op['path']}"])
                continue
            for blk, new in zip(blocks, new_pages):
                if blk == 0:
                    continue
                img.seek(a.offset + blk * BLOCK)
                if img.read(len(new)) != new:
                    img.seek(a.offset + blk * BLOCK)
                    img.write(new)
                    pages += 1
            img.flush()
    r = subprocess.run(["e2fsck", "-fn", spec], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gen_day2: e2fsck found problems in {a.image} after the day-2 changes:\n{r.stdout[-2000:]}")
    print(f"gen_day2: {len(cmds)} debugfs commands, {pages} database pages rewritten in place; e2fsck clean")


def touch(a):
    rng = random.Random(a.seed * 31 + 5)
    cands = sorted(os.path.relpath(os.path.join(r, f), a.tree)
                   for top in ("etc", "var") for r, _, fs in os.walk(os.path.join(a.tree, top)) for f in fs)
    cands = [p for p in cands if os.path.isfile(os.path.join(a.tree, p)) and not os.path.islink(os.path.join(a.tree, p))]
    for p in rng.sample(cands, min(20, len(cands))):
        st = os.stat(os.path.join(a.tree, p))
        os.utime(os.path.join(a.tree, p), (st.st_atime, st.st_mtime + 3600))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["plan", "tree", "image", "touch"])
    ap.add_argument("--tree")
    ap.add_argument("--pool")
    ap.add_argument("--stage")
    ap.add_argument("--plan")
    ap.add_argument("--image")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--size", type=int)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    {"plan": plan, "tree": apply_tree, "image": apply_image, "touch": touch}[a.cmd](a)


if __name__ == "__main__":
    main()
