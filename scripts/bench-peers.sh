#!/usr/bin/env bash
# Times the workload of `rp1 bench` (tests/guests/include/bench_workload.h)
# on the simulator's two peers: GXemul's bare `testsh` machine (an SH-4
# interpreter) and qemu-sh4 in user mode (a JIT). `rp1 bench` runs this
# and prints the peers' rates beside the simulator's; it also runs alone.
#
# Usage: scripts/bench-peers.sh [ITERS]   (default 2000 passes over 4 KiB)
#
# Builds the workload for each peer with its start-up file in
# scripts/bench-peers/, with the flags the simulator's own harness
# (tests/guests/programs/bench_work.c) gets from cli/src/programs.rs, so
# every machine runs the same nine-instruction inner loop; then runs each
# peer once and times the whole run (start-up included: about 25 ms for
# GXemul, a few ms for qemu). Prints one line per peer, which
# cli/src/commands/bench.rs parses:
#
#   peer gxemul crc 5e4e1995 seconds 0.123456789
#   peer qemu-sh4 not measured: qemu-sh4 not found (...)
#
# A peer that cannot run (tool missing, build or run failed, timeout) gets
# a "not measured" line with the reason, and the other is still timed.
# Exit status 0 when every peer got its line, 2 for a bad argument, 3 when
# the cross compiler is missing (then nothing can be measured).
#
# Needs Debian's gcc-sh4-linux-gnu, gxemul, qemu-user and `script`
# (bsdutils, to give GXemul a terminal); scripts/setup.sh installs them.
# SH4_CC, QEMU_SH4 and GXEMUL override the compiler's, qemu's and GXemul's
# names; BENCH_PEER_TIMEOUT (seconds, default 600) bounds each run.
set -euo pipefail

iters=${1:-2000}
if ! [[ $iters =~ ^[0-9]{1,10}$ ]] || [ "$iters" -gt 4294967295 ]; then
    echo "bench-peers: ITERS must be a whole number from 0 to 4294967295, not '$iters'" >&2
    exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
cc=${SH4_CC:-sh4-linux-gnu-gcc}
qemu=${QEMU_SH4:-qemu-sh4}
gxemul=${GXEMUL:-gxemul}
limit=${BENCH_PEER_TIMEOUT:-600}
install_hint="scripts/setup.sh installs it (Debian package"

if ! command -v "$cc" >/dev/null; then
    echo "bench-peers: $cc not found; $install_hint gcc-sh4-linux-gnu)" >&2
    exit 3
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cli/src/programs.rs's COMMON_CFLAGS and LINK_FLAGS, at -O2 as
# bench_work.c asks with its guest-cflags line.
cflags=(-ml -O2 -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -fno-pic
    -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-stack-protector
    -Wall -Wextra -Werror -Wa,--noexecstack
    -nostdlib -static -Wl,--build-id=none -Wl,--no-warn-rwx-segments
    -I"$top/tests/guests/include" -DBENCH_PASSES="${iters}u")

# Nanoseconds since the epoch, and the difference of two as seconds.
now() { date +%s%N; }
seconds() { local ns=$(($2 - $1)); printf '%d.%09d' $((ns / 1000000000)) $((ns % 1000000000)); }

# peer NAME CRC-OUTPUT T0 T1: the line for a run whose output ends in the CRC.
report() {
    local crc
    crc=$(printf '%s\n' "$2" | tr -d '\r' | grep -E '^[0-9a-f]{8}$' | tail -n 1 || true)
    if [ -z "$crc" ]; then
        echo "peer $1 not measured: no CRC in its output: $(printf '%s' "$2" | tr -d '\r' | tr '\n' ' ' | cut -c1-200)"
    else
        echo "peer $1 crc $crc seconds $(seconds "$3" "$4")"
    fi
}

# GXemul, testsh: an SH-4, so -m4; linked at 0x80010000 in P1 (RAM is at
# physical 0). GXemul wants a terminal, which `script` gives it.
if ! command -v "$gxemul" >/dev/null; then
    echo "peer gxemul not measured: $gxemul not found; $install_hint gxemul)"
elif ! command -v script >/dev/null; then
    echo "peer gxemul not measured: script not found (it gives GXemul a terminal); $install_hint bsdutils)"
elif ! err=$("$cc" -m4 "${cflags[@]}" -Wl,-Ttext=0x80010000 \
        "$top/scripts/bench-peers/gxemul_testsh.c" -o "$tmp/gxemul.elf" 2>&1); then
    echo "peer gxemul not measured: the build failed: $(printf '%s' "$err" | tr '\n' ' ' | cut -c1-300)"
else
    t0=$(now)
    status=0
    out=$(script -qec "exec timeout -k 5 $limit $(printf %q "$gxemul") -q -E testsh $tmp/gxemul.elf" /dev/null </dev/null 2>&1) || status=$?
    t1=$(now)
    if [ $status -ne 0 ]; then
        echo "peer gxemul not measured: it exited with status $status$([ $status -eq 124 ] && echo " (timed out after $limit s)")"
    else
        report gxemul "$out" "$t0" "$t1"
    fi
fi

# qemu-sh4, user mode: SH-4A code like our simulator's.
if ! command -v "$qemu" >/dev/null; then
    echo "peer qemu-sh4 not measured: $qemu not found; $install_hint qemu-user)"
elif ! err=$("$cc" -m4a "${cflags[@]}" "$top/scripts/bench-peers/qemu_user.c" -o "$tmp/qemu.elf" 2>&1); then
    echo "peer qemu-sh4 not measured: the build failed: $(printf '%s' "$err" | tr '\n' ' ' | cut -c1-300)"
else
    t0=$(now)
    status=0
    out=$(timeout -k 5 "$limit" "$qemu" "$tmp/qemu.elf" </dev/null 2>&1) || status=$?
    t1=$(now)
    if [ $status -ne 0 ]; then
        echo "peer qemu-sh4 not measured: it exited with status $status$([ $status -eq 124 ] && echo " (timed out after $limit s)")"
    else
        report qemu-sh4 "$out" "$t0" "$t1"
    fi
fi
