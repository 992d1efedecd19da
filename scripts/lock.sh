#!/usr/bin/env bash
# Re-resolve the lock: install netslice with every extra into a throw-away venv at the newest versions its
# pyproject.toml allows (torch stays pinned, CPU build, as scripts/setup.sh gets it), then write every installed
# package's exact version to constraints.txt. Run it to move to newer dependencies, then run scripts/test.sh on
# every supported Python before committing the new lock. The RLlib environment's lock, constraints-rllib.txt, is
# written afterwards from the new constraints.txt (see the end of this script).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
TORCH_VERSION=2.13.0
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" -m venv "$TMP/venv"
PIP=("$TMP/venv/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip setuptools wheel
"${PIP[@]}" install --no-index --no-deps "torch==$TORCH_VERSION" 2>/dev/null \
    || "${PIP[@]}" install --no-deps --index-url "${NETSLICE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" "torch==$TORCH_VERSION"
"${PIP[@]}" install "torch==$TORCH_VERSION" -e ".[dev,fast,api,rl,sb3,ray]"
{
    echo "# The lock: every package of the environment CI tests, at its exact version (scripts/setup.sh installs"
    echo "# with -c constraints.txt). Regenerate with scripts/lock.sh; resolved with $("$TMP/venv/bin/python" --version)."
    echo "# torch must stay on the CPU build (see scripts/setup.sh): another version or build downloads gigabytes."
    "$TMP/venv/bin/python" -m pip freeze --all --exclude-editable | sed -E 's/^torch==([^+]*)\+.*/torch==\1/' | LC_ALL=C sort -f
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"

# The RLlib environment's lock (scripts/setup.sh --rllib): the main lock, less the packages ray[rllib] pins
# otherwise (RLLIB_UNLOCK), plus ray and what it needs at their newest versions.
RLLIB_UNLOCK="gymnasium"
grep -v -E "^(${RLLIB_UNLOCK//,/|})==" constraints.txt > "$TMP/base.txt"
"$PYTHON" -m venv "$TMP/rllib"
PIP=("$TMP/rllib/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -c "$TMP/base.txt" --upgrade pip setuptools wheel
"${PIP[@]}" install --no-index --no-deps "torch==$TORCH_VERSION" 2>/dev/null \
    || "${PIP[@]}" install --no-deps --index-url "${NETSLICE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" "torch==$TORCH_VERSION"
"${PIP[@]}" install -c "$TMP/base.txt" "torch==$TORCH_VERSION" -e ".[dev,rl,rllib]"
{
    echo "# The RLlib environment's lock (scripts/setup.sh --rllib): constraints.txt's versions but for what ray[rllib]"
    echo "# pins ($RLLIB_UNLOCK), plus ray's own dependencies. Regenerated with constraints.txt by scripts/lock.sh;"
    echo "# resolved with $("$TMP/rllib/bin/python" --version). torch: CPU build, as in constraints.txt."
    "$TMP/rllib/bin/python" -m pip freeze --all --exclude-editable | sed -E 's/^torch==([^+]*)\+.*/torch==\1/' | LC_ALL=C sort -f
} > constraints-rllib.txt
echo "wrote constraints-rllib.txt ($(grep -vc '^#' constraints-rllib.txt) packages)"
