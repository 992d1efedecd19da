#!/usr/bin/env bash
# Install netslice and everything it needs into ./.venv, at the versions CI tested (constraints.txt, the lock).
#
# Idempotent: a re-run reuses .venv when it is healthy and nothing changed, repairs it when an earlier install
# stopped half-way, and recreates it when it was made by another or an unsupported Python.
#
# Python: 3.11, 3.12 or 3.13. PYTHON=/path/to/python picks one; otherwise an existing .venv keeps its own, and a
# new one is made with the first of python3.11, python3.12, python3.13, python3 that runs and is supported.
#
# PyTorch (torch==2.13.0) must be the CPU build: on Linux the package index's default build is the CUDA one
# (gigabytes of nvidia packages). In order:
#   1. a local wheel that pip's own configuration finds (find-links; `pip install --no-index`), if there is one;
#   2. the PyTorch CPU index, NETSLICE_TORCH_INDEX (default https://download.pytorch.org/whl/cpu);
#      NETSLICE_TORCH_INDEX="" takes torch from pip's default index instead (CUDA build on Linux x86_64).
#
# `bash scripts/setup.sh --rllib` makes the optional RLlib environment instead, ./.venv-rllib (extras dev, rl and
# rllib; the same rules): ray[rllib] pins gymnasium (ray 2.60: ==1.2.2) below the main lock's, so that environment
# has a lock of its own, constraints-rllib.txt (see scripts/lock.sh). scripts/test.sh runs the RLlib tests there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUPPORTED=(3.11 3.12 3.13)
TORCH_VERSION=2.13.0
EXTRAS="dev,fast,api,rl,sb3,ray,emulation"
VENV=.venv
LOCK=constraints.txt

die() {
    echo "setup.sh: $*" >&2
    exit 1
}

if [[ "${1:-}" == "--rllib" ]]; then
    EXTRAS="dev,rl,rllib"
    VENV=.venv-rllib
    LOCK=constraints-rllib.txt
elif [[ $# -gt 0 ]]; then
    die "unknown argument '$1' (usage: bash $0 [--rllib])"
fi
STAMP="$VENV/.netslice-installed"

# X.Y of an interpreter, or nothing when it does not run (e.g. a pyenv shim of a version that is not selected).
py_version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

is_supported() {
    local v
    for v in "${SUPPORTED[@]}"; do [[ "$1" == "$v" ]] && return 0; done
    return 1
}

# Choose the interpreter before anything is installed, so that a wrong one fails in a second, not after torch.
if [[ -n "${PYTHON:-}" ]]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "PYTHON=$PYTHON: no such command"
    WANT_VERSION="$(py_version "$PYTHON")"
    [[ -n "$WANT_VERSION" ]] || die "PYTHON=$PYTHON does not run"
    is_supported "$WANT_VERSION" || die "PYTHON=$PYTHON is Python $WANT_VERSION; netslice supports ${SUPPORTED[*]}"
elif is_supported "$(py_version "$VENV/bin/python")"; then
    PYTHON="$VENV/bin/python"  # keep the venv's own interpreter when none is asked for
    WANT_VERSION="$(py_version "$PYTHON")"
else
    PYTHON=""
    for candidate in python3.11 python3.12 python3.13 python3; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        version="$(py_version "$candidate")"
        if [[ -n "$version" ]] && is_supported "$version"; then
            PYTHON="$candidate"
            WANT_VERSION="$version"
            break
        fi
    done
    [[ -n "$PYTHON" ]] || die "no supported Python found (netslice needs Python ${SUPPORTED[*]}; python3 is \
'$(py_version python3 || true)'). Install one, or point PYTHON at it: PYTHON=/path/to/python3.12 bash $0"
fi
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
    || die "$PYTHON ($WANT_VERSION) has no venv/ensurepip module (on Debian/Ubuntu: apt-get install python$WANT_VERSION-venv)"

# Reuse .venv only if its interpreter runs and is the wanted version; otherwise start it again.
if [[ -e "$VENV" ]]; then
    have="$(py_version "$VENV/bin/python")"
    if [[ "$have" != "$WANT_VERSION" ]]; then
        echo "setup.sh: $VENV is ${have:-broken} and Python $WANT_VERSION is wanted: recreating it" >&2
        rm -rf "$VENV"
    fi
fi

WANT="$WANT_VERSION $(cat pyproject.toml setup.py "$LOCK" scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && "$VENV/bin/python" -c 'import netslice' 2>/dev/null; then
    exit 0
fi
rm -f "$STAMP"  # written back only once everything below has succeeded

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -c "$LOCK" --upgrade pip setuptools wheel

have_torch() {
    [[ "$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)" == "$TORCH_VERSION" ]]
}
if ! have_torch; then
    if "${PIP[@]}" install --no-index --no-deps "torch==$TORCH_VERSION" >/dev/null 2>&1; then
        echo "setup.sh: torch $TORCH_VERSION from a local wheel" >&2
    else
        index="${NETSLICE_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
        if [[ -n "$index" ]]; then
            echo "setup.sh: torch $TORCH_VERSION (CPU build) from $index" >&2
            "${PIP[@]}" install --no-deps --index-url "$index" "torch==$TORCH_VERSION"
        else
            echo "setup.sh: torch $TORCH_VERSION from pip's default index (NETSLICE_TORCH_INDEX is empty)" >&2
            "${PIP[@]}" install --no-deps "torch==$TORCH_VERSION"
        fi
    fi
fi
# Everything else at the locked versions; torch's own dependencies come in here (torch itself is satisfied).
"${PIP[@]}" install -c "$LOCK" "torch==$TORCH_VERSION" -e ".[$EXTRAS]"
"$VENV/bin/python" -m pip check >/dev/null || die "pip check found broken requirements in $VENV (see: $VENV/bin/python -m pip check)"
echo "$WANT" > "$STAMP"
