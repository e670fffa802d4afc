#!/usr/bin/env bash
# Builds an unmodified Linux 6.1 SMP kernel for the simulated RP1 (SH-X3
# prototype, 4 CPUs, SCIF console, TMU timers) from Debian's
# linux-source-6.1 with the configuration fragment in
# tests/linux/x3proto-smp.config, compiled with the corrected cc1 from
# scripts/fix-sh4-cc1.sh. The result is cached in build/linux/vmlinux and
# rebuilt only when the fragment or the compiler fix changes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/linux
frag=$top/tests/linux/x3proto-smp.config
stamp=$out/.fragment
"$top/scripts/setup.sh"
if [ ! -f /usr/src/linux-source-6.1.tar.xz ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq linux-source-6.1
fi
fingerprint() { cat "$frag" "$top/scripts/fix-sh4-cc1.sh"; }
if [ -f "$out/vmlinux" ] && [ -f "$stamp" ] && cmp -s <(fingerprint) "$stamp"; then
    echo "build-linux: cached $out/vmlinux"
    exit 0
fi
mkdir -p "$out"
src=$out/src
if [ ! -d "$src" ]; then
    tar -C "$out" -xf /usr/src/linux-source-6.1.tar.xz
    mv "$out/linux-source-6.1" "$src"
fi
# Debian's cc1 deletes compares before branches at -O1 and above; build
# with the corrected copy (scripts/fix-sh4-cc1.sh explains).
gccfix=$("$top/scripts/fix-sh4-cc1.sh")
make="make -C $src O=$out/obj ARCH=sh CROSS_COMPILE=sh4-linux-gnu- KCFLAGS=-B$gccfix/ -j$(nproc)"
$make allnoconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$out/obj" "$out/obj/.config" "$frag" >/dev/null
$make olddefconfig >/dev/null
# Every line of the fragment must have survived Kconfig's dependency rules.
missing=0
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    grep -qxF "$line" "$out/obj/.config" || { echo "build-linux: not in .config: $line" >&2; missing=1; }
done < "$frag"
[ $missing -eq 0 ]
$make vmlinux
cp "$out/obj/vmlinux" "$out/vmlinux"
fingerprint > "$stamp"
echo "build-linux: built $out/vmlinux"
