#!/usr/bin/env bash
# Install everything (scripts/setup.sh) and run the main job on the default scenario:
# train PPO on testbed-v0 (about 4 minutes on 2 cores, set-up included), then print the comparison of the agent with the
# static, rule-based and oracle policies, with the paths of the JSON results and figures.
# Extra arguments go to `netslice train` (e.g. --seed 1, --steps 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/netslice train --scenario testbed-v0 --algo ppo --run-dir runs/main-testbed-v0 --no-resume "$@"
