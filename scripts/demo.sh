#!/usr/bin/env bash
# The main job: builds the simulator and the bundled SMP demo programs, boots
# each on the simulated RP1 and prints its console and a per-core report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release -q -p rp1-systests --bin rp1-demo
