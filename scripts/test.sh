#!/usr/bin/env bash
# The whole test suite: installs the toolchain if missing, then runs every
# crate's tests (unit tests, the SH-4A test programs on our simulator and on
# the GXemul/qemu-sh4 references).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --release "$@"
