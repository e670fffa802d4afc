#!/usr/bin/env bash
# Builds the hypervisor's board image, build/hv/spumone.elf: the same
# kernel/percore/migration crates the hosted tests use, compiled to SH-4A
# by the only route Debian's packages give (docs/board-image.md):
#
#   Rust (board/, no_std) --rustc-web--> wasm32 --wasm2c--> C
#     --sh4-linux-gnu-gcc -m4a-nofpu--> objects + board/rt (entry stubs,
#     runtime) --ld board/rt/board.ld--> spumone.elf
#
# The build is reproducible (same inputs, same bytes) and cached: it is
# redone only when an input changes (the sources, the lock file, this
# script, the tools' versions). Prints the image's path on success.
#
# Usage: scripts/build-hv.sh [--force] [--quiet] [--attributable] [--out DIR]
#   --out DIR  build into DIR (default build/hv), with its own cargo target
#              directory: tests/board.rs builds a second copy from nothing
#              this way and compares the bytes.
#   --attributable  for profiling only (with --out): inline nothing that
#              is not #[inline(always)], in LLVM and in GCC, so that
#              `rp1 hv --image DIR/spumone.elf --profile F` names the
#              functions the time goes to instead of hv_enter, into which
#              the normal build inlines nearly everything. Its timings are
#              its own (slower), not the image's (docs/board-image.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/hv
force=0 quiet=0 attributable=0
while [ $# -gt 0 ]; do
    case $1 in
        --force) force=1 ;;
        --quiet) quiet=1 ;;
        --attributable) attributable=1 ;;
        --out) [ $# -ge 2 ] || { echo "build-hv: --out needs a directory" >&2; exit 2; }
               mkdir -p "$2"; out=$(cd "$2" && pwd); shift ;;
        *) echo "build-hv: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ $attributable = 1 ] && [ "$out" = "$top/build/hv" ]; then
    echo "build-hv: --attributable needs --out DIR: build/hv is the image the tests and reports use" >&2
    exit 2
fi
say() { [ $quiet = 1 ] || echo "build-hv: $*" >&2; }
# One build per output directory at a time: tests start several at once,
# and the later ones find the first one's result up to date.
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

"$top/scripts/setup.sh" --board >&2
gccfix=$("$top/scripts/fix-sh4-cc1.sh")

# Linear memory = one URAM (128 KiB); the Rust stack first (16 KiB, from 0
# down), statics after it, the trace ring and the C stack at the top
# (percore::tracebuf::URAM_*; checked below).
LINEAR_BYTES=131072
RUST_STACK=16384
TRACE_AT=$((0x15fc0))

inputs() {
    cd "$top"
    find board kernel percore migration \( -name target -prune \) -o -type f \
        \( -name '*.rs' -o -name '*.toml' -o -name '*.c' -o -name '*.h' -o -name '*.S' -o -name '*.ld' -o -name Cargo.lock \) \
        -print | LC_ALL=C sort | xargs sha256sum
    sha256sum scripts/build-hv.sh scripts/fix-sh4-cc1.sh
    /usr/bin/rustc --version
    wasm2c --version
    sh4-linux-gnu-gcc --version | head -1
    echo "attributable=$attributable"
}
key=$(inputs | sha256sum | cut -c1-32)
if [ $force = 0 ] && [ -f "$out/spumone.elf" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
    say "up to date"
    echo "$out/spumone.elf"
    exit 0
fi
rm -f "$out/key"

# 1. Rust -> wasm32, with Debian's rustc and its library sources
#    (-Zbuild-std=core needs RUSTC_BOOTSTRAP=1; board-build.md).
#
#    From a staged copy, $out/src, that is a workspace of its own holding
#    board/ and the three crates it depends on. Cargo derives every
#    crate's symbol hash (-C metadata) from its path, relative to the
#    workspace root when the crate is inside it and absolute otherwise;
#    built in place, kernel/, percore/ and migration/ are outside board/'s
#    workspace, so two clones in different directories got different
#    symbol names, a different function order and code 8 bytes apart (and
#    different simulated timings). Inside the staged workspace every path
#    is relative.
say "rust -> wasm32"
stage=$out/src
rm -rf "$stage"
mkdir -p "$stage"
(cd "$top" && find board kernel percore migration \( -name target -prune \) -o -type f \
    \( -name '*.rs' -o -name '*.toml' -o -name Cargo.lock \) -print0 | xargs -0 cp --parents -t "$stage")
# The staged board manifest without its [profile.release] and [workspace]
# (the last sections of board/Cargo.toml); the root manifest gets them.
# kernel/, percore/ and migration/ stay outside the workspace (path
# dependencies, as in board/'s own), so their dev-dependencies are not
# resolved and board/Cargo.lock stays the board's.
sed '/^\[profile.release\]/,$d' "$top/board/Cargo.toml" > "$stage/board/Cargo.toml"
{
    printf '[workspace]\nresolver = "2"\nmembers = ["board"]\nexclude = ["kernel", "percore", "migration"]\n\n'
    sed -n '/^\[profile.release\]/,/^\[workspace\]/p' "$top/board/Cargo.toml" | sed '$d'
} > "$stage/Cargo.toml"
mv "$stage/board/Cargo.lock" "$stage/Cargo.lock"
remap="--remap-path-prefix=$stage=/spumone --remap-path-prefix=$HOME=/home"
no_inline_rust= no_inline_c=()
if [ $attributable = 1 ]; then
    no_inline_rust="-C llvm-args=-inline-threshold=0"
    no_inline_c=(-fno-inline)
fi
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$out/target" \
RUSTFLAGS="-C link-arg=--initial-memory=$LINEAR_BYTES -C link-arg=--max-memory=$LINEAR_BYTES \
 -C link-arg=-zstack-size=$RUST_STACK -C link-arg=--stack-first $remap $no_inline_rust" \
    /usr/bin/cargo build --quiet --release --locked --manifest-path "$stage/Cargo.toml" \
    -p spumone-board --target wasm32-unknown-unknown -Zbuild-std=core
cp "$out/target/wasm32-unknown-unknown/release/spumone_board.wasm" "$out/spumone.wasm"

# The layout the board code assumes: memory exactly one URAM, statics
# ending below the trace ring.
layout=$(wasm-objdump -x "$out/spumone.wasm")
grep -q "pages: initial=2 max=2" <<< "$layout" || { echo "build-hv: linear memory is not 2 pages (128 KiB)" >&2; exit 1; }
heap_base=$(sed -n 's/.*global\[[0-9]*\] i32 mutable=0 <__heap_base> - init i32=\([0-9]*\).*/\1/p' <<< "$layout")
data_end=$(sed -n 's/.*global\[[0-9]*\] i32 mutable=0 <__data_end> - init i32=\([0-9]*\).*/\1/p' <<< "$layout")
if [ -z "$heap_base" ] || [ "$heap_base" -gt "$TRACE_AT" ]; then
    echo "build-hv: statics end at ${heap_base:-?}, past the trace ring at $TRACE_AT" >&2
    exit 1
fi

# 2. wasm -> C.
say "wasm2c"
wasm2c "$out/spumone.wasm" -n spumone -o "$out/spumone.c"

# 3. C and the stubs -> SH-4A objects, with the corrected cc1
#    (scripts/fix-sh4-cc1.sh). No bounds checks: URAM's edges are the
#    hardware's (runtime.c).
say "sh4-linux-gnu-gcc"
cflags=(-B"$gccfix/" -m4a-nofpu -ml -O3 "${no_inline_c[@]}" -ffreestanding -fno-common -fno-pic -fno-stack-protector
        -ffunction-sections -fdata-sections -Wall -Wno-unused-function -Wno-unused-variable
        -Wno-unused-but-set-variable -Wno-unused-label -Wno-unused-value -DNDEBUG -fdebug-prefix-map="$top"=/spumone
        -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1 -DWASM_RT_SKIP_SIGNAL_RECOVERY=1 -I"$out")
sh4-linux-gnu-gcc "${cflags[@]}" -include "$top/board/rt/wasm2c-fast.h" -c "$out/spumone.c" -o "$out/spumone.o"
sh4-linux-gnu-gcc "${cflags[@]}" -c "$top/board/rt/runtime.c" -o "$out/runtime.o"
sh4-linux-gnu-gcc -m4a -ml -c "$top/board/rt/entry.S" -o "$out/entry.o"

# 4. Link at P1 0x88000000 (board.ld), with libgcc for 64-bit arithmetic.
say "link"
sh4-linux-gnu-gcc -m4a-nofpu -ml -nostdlib -static -Wl,--build-id=none -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
    -Wl,-T,"$top/board/rt/board.ld" -Wl,-Map,"$out/spumone.map" \
    "$out/entry.o" "$out/runtime.o" "$out/spumone.o" -lgcc -o "$out/spumone.elf"

# What the image is, for the reports (docs/board-image.md).
{
    echo "wasm_linear_bytes $LINEAR_BYTES"
    echo "rust_stack_bytes $RUST_STACK"
    echo "statics_end $heap_base"
    echo "data_end $data_end"
    sh4-linux-gnu-size -A "$out/spumone.elf" | awk '$1 ~ /^\./ { print "section" $1, $2 }'
} > "$out/layout.txt"
echo "$key" > "$out/key"
say "built $(sh4-linux-gnu-size "$out/spumone.elf" | tail -1 | awk '{print $1 + $2 + $3}') bytes"
echo "$out/spumone.elf"
