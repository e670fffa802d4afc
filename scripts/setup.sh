#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: the SH-4 cross
# toolchain (to build the test programs), GXemul and qemu-sh4 (independent
# references), gdb-multiarch (debugging through the GDB stub), and what a
# Linux kernel build needs (make, flex, bison, bc, perl, patch, xz).
# Idempotent: skips apt when everything is already there.
set -euo pipefail
need=()
command -v sh4-linux-gnu-gcc >/dev/null || need+=(gcc-sh4-linux-gnu binutils-sh4-linux-gnu)
[ -e /usr/sh4-linux-gnu/lib/libc.a ] || need+=(libc6-dev-sh4-cross)
command -v gxemul >/dev/null || need+=(gxemul)
command -v qemu-sh4 >/dev/null || need+=(qemu-user)
command -v gdb-multiarch >/dev/null || need+=(gdb-multiarch)
command -v bc >/dev/null || need+=(bc)
command -v script >/dev/null || need+=(bsdutils)
command -v xxd >/dev/null || need+=(xxd)
for tool in make flex bison perl patch xz gcc; do
    command -v $tool >/dev/null || need+=("$( [ $tool = xz ] && echo xz-utils || echo $tool )")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
