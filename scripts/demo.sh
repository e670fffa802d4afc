#!/usr/bin/env bash
# The main job: builds the simulator, the hypervisor and its two guests,
# then runs the RTOS probe and the SMP load guest side by side on the
# hypervisor's board image (on-demand migration, dispatch-first) on the
# simulated RP1 and prints a short report; the timeline, charts and full
# report go to target/lhp/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release -q -p rp1 -- lhp demo "$@"
