#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: the SH-4 cross
# toolchain (to build the test programs), GXemul and qemu-sh4 (independent
# references, and the peers `rp1 bench` times through
# scripts/bench-peers.sh, which also needs `script`), gdb-multiarch
# (debugging through the GDB stub), and what a Linux kernel build needs
# (make, flex, bison, bc, perl, patch, xz).
# Idempotent: skips apt when everything is already there.
set -euo pipefail
need=()
command -v sh4-linux-gnu-gcc >/dev/null || need+=(gcc-sh4-linux-gnu binutils-sh4-linux-gnu)
[ -e /usr/sh4-linux-gnu/lib/libc.a ] || need+=(libc6-dev-sh4-cross)
command -v gxemul >/dev/null || need+=(gxemul)
command -v qemu-sh4 >/dev/null || need+=(qemu-user)
command -v gdb-multiarch >/dev/null || need+=(gdb-multiarch)
command -v bc >/dev/null || need+=(bc)
# The hypervisor's board image (scripts/build-hv.sh, docs/board-image.md):
# Debian's own Rust with its library sources (for -Zbuild-std=core on
# wasm32), the wasm linker, and wasm2c.
[ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || need+=(rustc-web cargo-web)
[ -d /usr/src/rustc-1.96.0/library ] || need+=(rust-web-src)
[ -e /usr/bin/rust-lld ] && [ -e "$(readlink -f /usr/bin/rust-lld)" ] || need+=(lld-22)
command -v wasm2c >/dev/null || need+=(wabt)
command -v script >/dev/null || need+=(bsdutils)
command -v xxd >/dev/null || need+=(xxd)
# TOPPERS/JSP's configurator is C++ built with the host compiler
# (scripts/build-toppers.sh, when TOPPERS_JSP_SRC gives its tree).
command -v g++ >/dev/null || need+=(g++)
for tool in make flex bison perl patch xz gcc; do
    command -v $tool >/dev/null || need+=("$( [ $tool = xz ] && echo xz-utils || echo $tool )")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
