#!/usr/bin/env bash
# Install netslice and everything it needs into ./.venv (idempotent; re-installs when pyproject changes).
# torch is installed first, pinned by constraints.txt, so pip never resolves a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
STAMP="$VENV/.netslice-installed"
WANT="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0
fi
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip setuptools wheel
"${PIP[@]}" install -c constraints.txt "torch==2.13.0"
"${PIP[@]}" install -c constraints.txt -e ".[dev,fast,api,rl,sb3]"
echo "$WANT" > "$STAMP"
