#!/usr/bin/env bash
# Builds Linux 6.1 SMP for the simulated RP1 (SH-X3 prototype, 4 CPUs,
# SCIF console, TMU timers), the same kernel as a guest of the hypervisor,
# and their test initramfs:
#   build/linux/vmlinux           the native kernel
#   build/linux/vmlinux-guest     the guest kernel: 4 vCPUs, hvc0 console,
#                                 guests-patches/linux-6.1/paravirt/ applied,
#                                 tests/linux/spumone-guest.config merged
#   build/linux/initramfs.cpio.gz a static /init and /bin/hackbench
#                                 (tests/linux/initramfs/)
# The kernel is Debian's linux-source-6.1 with the configuration fragment
# tests/linux/x3proto-smp.config and the bug fixes in
# guests-patches/linux-6.1/fixes/ (one patch: the SH-X3 IPI irq numbers,
# wrong since the evt2irq change reached 6.1 stable; see the patch). Everything is compiled with the
# corrected cc1 from scripts/fix-sh4-cc1.sh. Results are cached in
# build/linux and rebuilt only when their inputs change.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/linux
frag=$top/tests/linux/x3proto-smp.config
fixes=$top/guests-patches/linux-6.1/fixes
paravirt=$top/guests-patches/linux-6.1/paravirt
guest_frag=$top/tests/linux/spumone-guest.config
ramfs=$top/tests/linux/initramfs
"$top/scripts/setup.sh"
if [ ! -f /usr/src/linux-source-6.1.tar.xz ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq linux-source-6.1
fi
# Debian's cc1 deletes compares before branches at -O1 and above; build
# with the corrected copy (scripts/fix-sh4-cc1.sh explains).
gccfix=$("$top/scripts/fix-sh4-cc1.sh")
mkdir -p "$out"
# One build at a time: tests that need the kernel may start together.
exec 9>"$out/.lock"
flock 9

# --- the kernels ------------------------------------------------------
# series_files DIR: DIR's patches, in order.
series_files() {
    local dir=$1
    if [ -f "$dir/series" ]; then
        grep -v '^\s*\(#\|$\)' "$dir/series" | sed "s|^|$dir/|"
    else
        ls "$dir"/*.patch
    fi
}

# build_kernel NAME FRAGMENTS PATCHDIRS: build/linux/NAME from a tree
# with PATCHDIRS applied, configured from allnoconfig plus FRAGMENTS.
build_kernel() {
    local name=$1 frags=$2 dirs=$3 src obj inputs
    src=$out/src-$name; obj=$out/obj-$name
    [ "$name" = vmlinux ] && { src=$out/src; obj=$out/obj; }
    inputs() { cat "$0" $frags "$top/scripts/fix-sh4-cc1.sh"; for d in $dirs; do cat $(series_files "$d"); done; }
    if [ -f "$out/$name" ] && [ -f "$out/.$name-inputs" ] && cmp -s <(inputs) "$out/.$name-inputs"; then
        echo "build-linux: cached $out/$name"
        return 0
    fi
    # A source tree is reused only if it carries exactly this patch set.
    local patches; patches=$(for d in $dirs; do cat $(series_files "$d"); done | sha256sum)
    if [ ! -d "$src" ] || [ "$(cat "$src/.rp1-patches" 2>/dev/null)" != "$patches" ]; then
        rm -rf "$src" "$out/linux-source-6.1"
        tar -C "$out" -xf /usr/src/linux-source-6.1.tar.xz
        mv "$out/linux-source-6.1" "$src"
        for d in $dirs; do "$top/scripts/apply-series.sh" "$d" "$src" || { rm -rf "$src"; exit 1; }; done
        echo "$patches" > "$src/.rp1-patches"
    fi
    # A fixed build identity (the banner's time, user, host and build
    # number), so the boot console does not say when or where it was built.
    # (The image itself may still differ between checkout directories.)
    export KBUILD_BUILD_TIMESTAMP="2026-01-01 00:00:00 UTC" KBUILD_BUILD_USER=rp1 KBUILD_BUILD_HOST=rp1 KBUILD_BUILD_VERSION=1
    local make="make -C $src O=$obj ARCH=sh CROSS_COMPILE=sh4-linux-gnu- KCFLAGS=-B$gccfix/ -j$(nproc)"
    $make allnoconfig >/dev/null
    # shellcheck disable=SC2086
    "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" $frags >/dev/null
    $make olddefconfig >/dev/null
    # Every line of the fragments (the last one's, where two set the same
    # option) must have survived Kconfig's dependency rules.
    local missing=0 line opt
    while IFS= read -r line; do
        case "$line" in '') continue ;; '# CONFIG_'*' is not set') ;; '#'*) continue ;; esac
        opt=$(echo "$line" | sed -E 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1/; s/=.*//')
        [ "$(cat $frags | grep -E "^($opt=|# $opt is not set)" | tail -1)" = "$line" ] || continue
        # "is not set" holds also when Kconfig left the option out.
        case "$line" in
            '#'*) ! grep -q "^$opt=" "$obj/.config" ;;
            *) grep -qxF "$line" "$obj/.config" ;;
        esac || { echo "build-linux: not in $name's .config: $line" >&2; missing=1; }
    done < <(cat $frags)
    [ $missing -eq 0 ]
    $make vmlinux
    cp "$obj/vmlinux" "$out/$name"
    inputs > "$out/.$name-inputs"
    echo "build-linux: built $out/$name"
}

# The native kernel: Debian's 6.1 with our bug fixes.
build_kernel vmlinux "$frag" "$fixes"
# The guest kernel (docs/linux-guest.md): the same plus the
# paravirtualization series, configured for the hypervisor's partition.
build_kernel vmlinux-guest "$frag $guest_frag" "$fixes $paravirt"

# --- the initramfs ----------------------------------------------------
ramfs_inputs() { cat "$0" "$ramfs"/* "$top/scripts/fix-sh4-cc1.sh"; }
if [ -f "$out/initramfs.cpio.gz" ] && [ -f "$out/.initramfs-inputs" ] && cmp -s <(ramfs_inputs) "$out/.initramfs-inputs"; then
    echo "build-linux: cached $out/initramfs.cpio.gz"
else
    bin=$out/initramfs
    mkdir -p "$bin"
    for prog in init hackbench; do
        # Freestanding, no glibc: tests/linux/initramfs/rt.h says why.
        sh4-linux-gnu-gcc -B"$gccfix"/ -O2 -Wall -Wextra -Werror -static \
            -nostdlib -ffreestanding -fno-builtin \
            -o "$bin/$prog" "$ramfs/$prog.c" -lgcc
    done
    sed "s|@BIN@|$bin|g" "$ramfs/initramfs.list" > "$bin/list"
    # gen_init_cpio stamps regular files with their own mtime (-t covers
    # only directories and nodes): fix it too.
    touch -d @0 "$bin/init" "$bin/hackbench"
    # Fixed timestamps and no gzip name/time: the same inputs give the
    # same bytes (checked: two builds, one sha256).
    # The kernel's own cpio writer, built for the host from its one source.
    cc -O2 -o "$bin/gen_init_cpio" "$out/src/usr/gen_init_cpio.c"
    "$bin/gen_init_cpio" -t 0 "$bin/list" | gzip -9n > "$out/initramfs.cpio.gz"
    ramfs_inputs > "$out/.initramfs-inputs"
    echo "build-linux: built $out/initramfs.cpio.gz"
fi
