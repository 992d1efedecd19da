#!/usr/bin/env bash
# Install everything (scripts/setup.sh) and run the main job on the default scenario:
# simulate one day of testbed-v0 under the testbed's initial allocation and print per-slice KPIs.
# Extra arguments go to `netslice simulate`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/netslice simulate --scenario testbed-v0 --days 1 --out out/simulate-testbed-v0.json "$@"
