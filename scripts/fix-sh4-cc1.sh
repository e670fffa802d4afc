#!/usr/bin/env bash
# Debian's sh4-linux-gnu-gcc 12.2 (cc1 sha256 8574d5fc...) miscompiles
# conditional branches at -O1 and above: its SH pass sh_treg_combine tests a
# `bool` return value with `test %eax,%eax` although only %al is defined, so
# it takes almost any register set for an inverted T-bit store and deletes
# the compare before the branch (`while (!*p)` loses its `tst`). No compiler
# flag disables the pass. This script makes a copy of that exact cc1 with
# the five call sites corrected to `test %al,%al` (0x85 -> 0x84), verifies
# the result, and prints the directory to pass to gcc as -B<dir>/.
# It refuses any other cc1: the offsets are only right for this build.
# Runs may overlap (tests build in parallel): one patches while the others
# wait on a lock, then all find the corrected copy.
#
# Usage: scripts/fix-sh4-cc1.sh [--out DIR]   (default build/gccfix)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/gccfix
if [ $# -ge 1 ]; then
    [ "$1" = --out ] && [ $# -eq 2 ] || { echo "fix-sh4-cc1: usage: $0 [--out DIR]" >&2; exit 2; }
    out=$2
fi
orig=$(sh4-linux-gnu-gcc -print-prog-name=cc1)
want_orig=8574d5fc20232bdfcb7420a974f671c20a81f6416a39ab2a3512152625053c54
want_fixed=42b0e8534e51ef675e78e965e1a062d1d649441ebb51b89ca0e0f1e2986b6554
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
if [ -x "$out/cc1" ] && [ "$(sha256sum < "$out/cc1" | cut -d' ' -f1)" = "$want_fixed" ]; then
    echo "$out"
    exit 0
fi
have=$(sha256sum < "$orig" | cut -d' ' -f1)
if [ "$have" != "$want_orig" ]; then
    echo "fix-sh4-cc1: $orig is not the cc1 this fix is for (sha256 $have)" >&2
    exit 1
fi
cp "$orig" "$out/cc1.tmp"
for offset in 0xab996e 0xab998e 0xaba975 0xaba991 0xabbb0a; do
    byte=$(xxd -s "$offset" -l 1 -p "$out/cc1.tmp")
    [ "$byte" = 85 ] || { echo "fix-sh4-cc1: unexpected byte $byte at $offset" >&2; exit 1; }
    printf '\x84' | dd of="$out/cc1.tmp" bs=1 seek=$((offset)) conv=notrunc status=none
done
[ "$(sha256sum < "$out/cc1.tmp" | cut -d' ' -f1)" = "$want_fixed" ] || { echo "fix-sh4-cc1: patched cc1 has the wrong checksum" >&2; exit 1; }
chmod +x "$out/cc1.tmp"
mv "$out/cc1.tmp" "$out/cc1"
echo "$out"
