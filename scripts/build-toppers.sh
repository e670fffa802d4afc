#!/usr/bin/env bash
# Builds TOPPERS/JSP 1.4.4.1 as the hypervisor's RTOS guest
# (docs/toppers-guest.md):
#   build/toppers/toppers_load.elf   the kernel with the RTOS load
#                                    (tests/toppers/), linked in the RTOS
#                                    partition 0x08800000 (8 MiB)
# from the source tree named by TOPPERS_JSP_SRC (the public repository
# ryoon/toppers-jsp at commit c0222f0; no registry has it, and none of its
# files is in this repository). The tree must be release 1.4.4.1: its
# version macro and the checksum of the files the series and the build
# rely on are checked before anything is copied. The tree is copied to
# build/toppers/src, guests-patches/toppers-jsp/ is applied
# (scripts/apply-series.sh), the configurator (cfg, chk: C++98) is built
# with the host's g++, then the kernel and the application with
# sh4-linux-gnu-gcc: -O0 (Debian's GCC 12 SH backend miscompiles compares
# at -O1 and above, docs/test-programs.md), -m4a-nofpu (no FPU
# instruction: the vector entry saves none), -fleading-underscore (the
# SH3 port's assembler names C symbols with the underscore of the
# sh-hitachi-elf toolchain it was written for), and with
# from libgcc only __udivsi3_i4i, the integer division the kernel's log
# formatter (library/log_output.c) needs: div1 and a table, no FPU
# instruction (tests/toppers_guest.rs checks the image); with the
# underscore every other helper GCC might want stays undefined and fails
# the link instead of slipping in).
# The result is cached: rebuilt only when an input changes (the tree's
# checksum, the series, the application, this script, the compiler).
#
#   TOPPERS_JSP_SRC=/path/to/toppers-jsp scripts/build-toppers.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/toppers
series=$top/guests-patches/toppers-jsp
app=$top/tests/toppers
name=toppers_load
die() { echo "build-toppers: $*" >&2; exit 1; }

[ -n "${TOPPERS_JSP_SRC:-}" ] || die "TOPPERS_JSP_SRC is not set: point it at a TOPPERS/JSP 1.4.4.1 tree (git archive c0222f0 of github.com/ryoon/toppers-jsp; docs/toppers-guest.md)"
src_in=$TOPPERS_JSP_SRC
[ -d "$src_in" ] || die "TOPPERS_JSP_SRC=$src_in is not a directory"

# --- is it release 1.4.4.1? ----------------------------------------------
# TKERNEL_PRVER is 0x1044 for every 1.4.4.x; the checksum of these files
# (those the series patches, the build reads, and the kernel's start-up)
# tells 1.4.4.1 from the others (1.4.5 changes kernel.h and startup.c
# and drops config/sh3).
checked="include/kernel.h kernel/startup.c config/sh3/cpu_support.S config/sh3/cpu_config.c config/sh3/cpu_config.h config/sh3/start.S sample/Makefile systask/timer.c"
want_sum=b0f6faeb0c29244c51fd196e4d16aed79ac81af0bdbb3741fca70981f421e381
[ -f "$src_in/include/kernel.h" ] || die "$src_in is not a TOPPERS/JSP tree (no include/kernel.h)"
prver=$(grep -a -o 'TKERNEL_PRVER[[:space:]]*0x[0-9a-fA-F]*' "$src_in/include/kernel.h" | awk '{print $2}' || true)
[ "$prver" = 0x1044 ] || die "$src_in is not TOPPERS/JSP 1.4.4.1: include/kernel.h has TKERNEL_PRVER ${prver:-(none)}, 1.4.4.1 has 0x1044"
for f in $checked; do
    [ -f "$src_in/$f" ] || die "$src_in is not TOPPERS/JSP 1.4.4.1 with the SH3/SH4 port: $f is missing"
done
have_sum=$(cd "$src_in" && for f in $checked; do sha256sum "$f"; done | sha256sum | cut -d' ' -f1)
[ "$have_sum" = "$want_sum" ] || die "$src_in is not TOPPERS/JSP 1.4.4.1 (commit c0222f0): the checksum of $checked is $have_sum, not $want_sum (a modified tree, or another release)"

"$top/scripts/setup.sh"
command -v g++ >/dev/null || die "g++ is missing (the configurator is C++): apt-get install g++"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

inputs() {
    echo "$have_sum"
    cat "$0" "$series/series" "$app"/* "$top/tests/hvguests/include/spumone.h"
    grep -v '^\s*\(#\|$\)' "$series/series" | while read -r p; do cat "$series/$p"; done
    sh4-linux-gnu-gcc --version | head -1
}
elf=$out/$name.elf
if [ -f "$elf" ] && [ -f "$out/.inputs" ] && cmp -s <(inputs) "$out/.inputs"; then
    echo "build-toppers: cached $elf"
    exit 0
fi

# --- the tree, patched ----------------------------------------------------
src=$out/src obj=$out/obj
rm -rf "$src" "$obj" "$elf"
cp -r "$src_in" "$src"
chmod -R u+w "$src"
"$top/scripts/apply-series.sh" "$series" "$src" || { rm -rf "$src"; exit 1; }

# --- the configurator (host C++; written before C++11) --------------------
timeout 600 make -C "$src/cfg" -s CXX="g++ -std=gnu++98 -w" >"$out/cfg.log" 2>&1 \
    || { tail -20 "$out/cfg.log" >&2; die "the configurator did not build (make -C $src/cfg; log: $out/cfg.log)"; }

# --- the kernel and the application ---------------------------------------
# What TOPPERS's configure (perl, needs the long-gone getopt.pl) does: the
# sample Makefile with the target's names filled in, the application beside it.
mkdir -p "$obj"
subst() {
    sed -e "s|@(CPU)|sh3|g; s|@(SYS)|rp1_spumone|g; s|@(TOOL)||g; s|@(LANG)|c|g" \
        -e "s|@(SRCDIR)|$src|g; s|@(OBJEXT)|elf|g; s|@(KERNEL_LIB)||g" \
        -e "s|@(UNAME)|$name|g; s|@(UTASK)||g; s|@(PERL)|/usr/bin/perl|g" "$1"
}
subst "$src/sample/Makefile" > "$obj/Makefile"
for f in "$app"/*; do subst "$f" > "$obj/$(basename "$f")"; done
# The system services without the serial driver and the log task: the
# console is the hypervisor's (sys_putc writes it).
mk=(make -C "$obj" -s TARGET=sh4-linux-gnu
    COPTS="-O0 -g -m4a-nofpu -ml -ffreestanding -fleading-underscore -fno-builtin"
    SPUMONE_INCLUDE="$top/tests/hvguests/include"
    LIBS="-Wl,--build-id=none,-u,__udivsi3_i4i,--defsym=___udivsi3_i4i=__udivsi3_i4i -lgcc"
    STASK_COBJS="timer.o log_output.o vasyslog.o t_perror.o strerror.o")
# No `make depend` (utils/makedep needs getopt.pl): a build from scratch
# needs no dependency list, only the generated files before the rest.
: > "$obj/Makefile.depend"
{ timeout 120 "${mk[@]}" kernel_cfg.c offset.h && timeout 600 "${mk[@]}"; } >"$obj/make.log" 2>&1 \
    || { tail -30 "$obj/make.log" >&2; die "the kernel did not build (log: $obj/make.log)"; }
cp "$obj/jsp.elf" "$elf"
inputs > "$out/.inputs"
echo "build-toppers: built $elf"
