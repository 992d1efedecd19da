#!/usr/bin/env bash
# Install everything (scripts/setup.sh) and run the checks: ruff, mypy, then the test suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m slow`).
#
# The full suite (no arguments) then runs the RLlib tests in their own environment, .venv-rllib
# (`scripts/setup.sh --rllib`: ray[rllib] pins gymnasium below constraints.txt); the main run skips them.
# NETSLICE_RLLIB=0 leaves them out, NETSLICE_RLLIB=1 adds them to a run with arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
RLLIB="${NETSLICE_RLLIB:-$([[ $# -eq 0 ]] && echo 1 || echo 0)}"
bash scripts/setup.sh
[[ "$RLLIB" != 1 ]] || bash scripts/setup.sh --rllib
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests benchmarks setup.py
ruff format --check src tests benchmarks setup.py
mypy
if [[ $# -eq 0 ]]; then
    # The Ray smoke test checks that no Ray process is left behind and starts clusters of its own: it runs in an
    # interpreter of its own, as a Ray driver keeps per-process state (after a local Ray was started and stopped in
    # the same process, a cluster joined next lost its raylet within seconds; not understood yet).
    pytest -q --ignore=tests/intelligence/test_ray_smoke.py
    pytest -q tests/intelligence/test_ray_smoke.py
else
    pytest -q "$@"
fi
if [[ "$RLLIB" == 1 ]]; then
    echo "test.sh: the RLlib tests, in .venv-rllib" >&2
    NETSLICE_REQUIRE_RLLIB=1 .venv-rllib/bin/python -m pytest -q -k rllib \
        tests/intelligence/test_rllib_integration.py tests/test_readme_snippets.py
fi
