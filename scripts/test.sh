#!/usr/bin/env bash
# The whole test suite: installs the toolchain if missing, then runs every
# crate's tests: unit tests, the SH-4A test programs on our simulator and on
# the GXemul/qemu-sh4 references, the hypervisor with its guests, and Linux
# 6.1 booting on the simulated RP1 (its first run builds the kernel with
# scripts/build-linux.sh, a few minutes; later runs use the cached build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --release "$@"
