#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Help and docs in sync: every help line fits 80 columns and every option has a
# description; the subcommands and their options are taken from `--help` itself and
# each must be known to the man page and to the bash completion (the completion's
# line for that command). `pvediff help [COMMAND]` works; a mistyped subcommand is
# named, with the nearest one suggested, exit 2.
source "$PVEDIFF_TEST_LIB/common.sh"
src=${PVEDIFF_SOURCE_DIR:?}
man=$src/packaging/files/pvediff.1
completion=$src/packaging/files/completions/pvediff

"$PVEDIFF" --help >"$WORK/main.help"
commands=$(awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}' "$WORK/main.help")
check "the main help lists the commands" test "$(wc -w <<<"$commands")" -ge 9
for c in "" $commands; do
  # shellcheck disable=SC2086
  "$PVEDIFF" $c --help >"$WORK/help.$c" 2>&1 || { fail "$c --help failed"; continue; }
  python3 - "$WORK/help.$c" "${c:-pvediff}" "$man" "$completion" >"$WORK/problems.$c" <<'PY' || true
import re, sys
path, command, man_path, comp_path = sys.argv[1:]
lines = open(path).read().split("\n")
man = open(man_path).read().replace("\\-", "-")
comp = open(comp_path).read()
problems = []
for n, line in enumerate(lines):
    if len(line) > 80:
        problems.append(f"line {n + 1} is {len(line)} columns: {line!r}")
# Option lines: "  -o,--output TEXT   description" (a long name: the description on the next line).
options = []
in_options = False
for n, line in enumerate(lines):
    if line.rstrip().endswith(":") and not line.startswith(" "):
        in_options = line.startswith("Options")
        continue
    m = re.match(r"^  ((?:-\w,)?--[\w-]+)(.*)$", line) if in_options else None
    if not m:
        continue
    names = m.group(1).split(",")
    if "--help" in names or "--version" in names:
        continue
    rest = m.group(2)
    described = re.search(r"\S\s{2,}\S", m.group(0)[2:] + " ") is not None or re.search(r"\s{2,}\S", rest)
    nxt = lines[n + 1] if n + 1 < len(lines) else ""
    if not described and not re.match(r"^ {10,}\S", nxt):
        problems.append(f"{names[-1]} has no description")
    options += names
for opt in options:
    long_opt = [o for o in [opt] if o.startswith("--")]
    if command == "pvediff":
        if opt not in man:
            problems.append(f"man page lacks global option {opt}")
        if not re.search(r'local global="[^"]*' + re.escape(opt) + r'\b', comp):
            problems.append(f"completion lacks global option {opt}")
        continue
    # The man page: the option in the command's paragraph, or as a general option.
    paras = re.findall(r"^\.B " + re.escape(command) + r"\b.*?(?=^\.TP|^\.SH)", man, re.S | re.M)
    if not any(re.search(re.escape(opt) + r"(?![\w-])", p) for p in paras):
        problems.append(f"man page: {command} lacks {opt}")
    line = re.search(r"^\s+" + re.escape(command) + r"\) opts=\"([^\"]*)\"", comp, re.M)
    if not line or opt not in line.group(1).split():
        problems.append(f"completion: {command} lacks {opt}")
if problems:
    print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
  check "${c:-pvediff} --help: within 80 columns, described, in the man page and completion" \
    test ! -s "$WORK/problems.$c" || { cat "$WORK/problems.$c" >&2; false; }
done

# pvediff help [COMMAND]
check "pvediff help prints the main help" bash -c "'$PVEDIFF' help | grep -q '^Subcommands:'"
check "pvediff help restore prints restore's help" bash -c "'$PVEDIFF' help restore | grep -q -- '--pve-name'"
rc=0; "$PVEDIFF" bakup x >"$WORK/out" 2>&1 || rc=$?
check "a typo: exit 2 (got $rc)" test "$rc" -eq 2
check "  names the word and suggests backup" grep -q "'bakup' is not a pvediff command; did you mean 'backup'?" "$WORK/out"
rc=0; "$PVEDIFF" help lsit >"$WORK/out" 2>&1 || rc=$?
check "help of a typo: exit 2, suggests list" bash -c "test $rc -eq 2 && grep -q \"did you mean 'list'\" '$WORK/out'"
rc=0; "$PVEDIFF" --config /dev/null zzzzzzzzzz >"$WORK/out" 2>&1 || rc=$?
check "a word far from every command: exit 2, no suggestion" \
  bash -c "test $rc -eq 2 && grep -q \"'zzzzzzzzzz' is not a pvediff command\" '$WORK/out' && ! grep -q 'did you mean' '$WORK/out'"
