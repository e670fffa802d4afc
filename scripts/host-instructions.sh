#!/usr/bin/env bash
# Counts the host instructions one pass of `rp1 bench`'s workload costs on
# the translating tier, one core: a figure that, unlike host time, is the
# same on every run and every host of the same build (counted by
# valgrind's cachegrind, not timed), so two builds can be compared on a
# noisy machine. docs/benchmarks.md has what it showed.
#
# Usage: scripts/host-instructions.sh [RP1]   (default target/release/rp1)
#
# Runs the bench harness (target/guests/rp1/bench_work.elf, which `cargo
# build` makes) at 2,000 and at 4,000 passes, its `bench_iters` patched in
# a copy of the image, translations compiled on the simulating thread
# (RP1_JIT_BACKGROUND=0, at the default 4,096 visits, so that the same
# code is translated at the same point every run); prints both counts and
# their difference over 2,000: start-up and compiling cancel out, and what
# is left is the steady loop (36,868 guest instructions a pass). The two
# runs under valgrind take about 15 s on a 2-core host.
#
# Needs valgrind (Debian's `valgrind`; not installed by scripts/setup.sh,
# since CI does not run this), sh4-linux-gnu-nm and -readelf (binutils-sh4-
# linux-gnu).
set -euo pipefail

rp1=${1:-target/release/rp1}
elf=target/guests/rp1/bench_work.elf
for tool in valgrind sh4-linux-gnu-nm sh4-linux-gnu-readelf; do
    command -v "$tool" >/dev/null || { echo "host-instructions: $tool not found" >&2; exit 3; }
done
[ -x "$rp1" ] || { echo "host-instructions: no simulator at $rp1 (cargo build --release)" >&2; exit 3; }
[ -f "$elf" ] || { echo "host-instructions: no $elf (cargo build --release makes it)" >&2; exit 3; }

# The file offset of bench_iters: its address less its LOAD segment's
# virtual address, plus the segment's file offset.
addr=$((0x$(sh4-linux-gnu-nm "$elf" | awk '$3 == "bench_iters" {print $1}')))
offset=
while read -r type off va _pa filesz _rest; do
    if [ "$type" = LOAD ] && [ "$addr" -ge $((va)) ] && [ "$addr" -lt $((va + filesz)) ]; then
        offset=$((addr - va + off))
        break
    fi
done < <(sh4-linux-gnu-readelf -lW "$elf")
[ -n "$offset" ] || { echo "host-instructions: bench_iters is in no LOAD segment of $elf" >&2; exit 3; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Host instructions of one run at $1 passes.
count() {
    local image="$work/bench$1.elf"
    cp "$elf" "$image"
    # bench_iters is little-endian, as the SH-4A runs here.
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))" |
        dd of="$image" bs=1 seek="$offset" conv=notrunc status=none
    RP1_JIT_BACKGROUND=0 RP1_JIT_HOT=4096 valgrind --tool=cachegrind --cache-sim=no --smc-check=all \
        --cachegrind-out-file=/dev/null "$rp1" run --cores 1 "$image" 2>&1 >/dev/null |
        awk '/I *refs:/ {gsub(",", "", $NF); print $NF}'
}

low=$(count 2000)
high=$(count 4000)
echo "host instructions: 2000 passes $low, 4000 passes $high, per pass $(((high - low) / 2000))"
