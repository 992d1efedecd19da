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
pytest -q "$@"
if [[ "$RLLIB" == 1 ]]; then
    echo "test.sh: the RLlib tests, in .venv-rllib" >&2
    NETSLICE_REQUIRE_RLLIB=1 .venv-rllib/bin/python -m pytest -q -k rllib \
        tests/intelligence/test_rllib_integration.py tests/test_readme_snippets.py
fi
