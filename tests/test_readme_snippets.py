"""README.md's code stays true: its RL-library snippets run, and the results it quotes are the committed ones.

Each ``python`` block of the "Use it from your RL library" section runs in a fresh interpreter (no netslice
import beforehand: what a user pasting it gets). The RLlib block needs ray[rllib], which pins gymnasium below the
main lock: it runs where ray is installed, the RLlib environment (scripts/test.sh runs it there with
``NETSLICE_REQUIRE_RLLIB=1``, which turns a missing ray into a failure), and is skipped in the main one.

The main-job tables must show the figures of docs/results/testbed-v0-ppo-s0/evaluation.json, which
``test_reproducibility`` re-computes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The text of a README section (up to the next heading of the same or a higher level)."""
    level = re.match(r"#+", title)
    assert level is not None
    start = README.index(title + "\n")
    end = re.search(rf"^#{{1,{len(level.group())}}} ", README[start + len(title) :], flags=re.M)
    return README[start : start + len(title) + (end.start() if end else len(README))]


SNIPPETS = re.findall(r"```python\n(.*?)```", section("### Use it from your RL library"), flags=re.S)


LIBRARIES = ("gymnasium.make(", "stable_baselines3", "pettingzoo", "DomainParallelEnv", "ray.rllib")


def test_the_section_has_a_snippet_per_library() -> None:
    assert len(SNIPPETS) == len(LIBRARIES)
    for library, code in zip(LIBRARIES, SNIPPETS, strict=True):
        assert library in code


def test_the_snippets_use_the_bare_id_with_no_netslice_import() -> None:
    # Registration comes from netslice's start-up hook (tests/intelligence/test_gymnasium_hook.py).
    for code in SNIPPETS[:2] + SNIPPETS[4:]:  # the PettingZoo envs have no registry: they are imported
        assert '"netslice/Slicing-v0"' in code
        assert "import netslice" not in code


def has_rllib() -> bool:
    """Whether RLlib imports: core ray (the main environment's ray extra) has the ray.rllib package, not its deps."""
    if not importlib.util.find_spec("ray"):
        return False
    done = subprocess.run([sys.executable, "-c", "import ray.rllib"], capture_output=True, timeout=300, check=False)
    return done.returncode == 0


@pytest.mark.parametrize("code", SNIPPETS, ids=["gymnasium", "sb3", "pettingzoo", "domains", "rllib"])
def test_readme_snippet_runs_in_a_fresh_interpreter(code: str) -> None:
    if "ray.rllib" in code and not os.environ.get("NETSLICE_REQUIRE_RLLIB") and not has_rllib():
        pytest.skip("ray[rllib] pins gymnasium below the main lock: scripts/test.sh runs this in .venv-rllib")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    if "ray.rllib" in code:
        assert done.stdout.split()[-1] == "24.0"


def test_quick_start_tables_quote_the_committed_seed0_results() -> None:
    policies = json.loads((ROOT / "docs/results/testbed-v0-ppo-s0/evaluation.json").read_text())["policies"]
    quick = section("## Quick start")
    for name, row in policies.items():
        cells = re.search(rf"│\s+{name} │ ([\d.]+) │\s+([\d.]+)% │\s+([+-][\d.]+)% │\s+([+-][\d.]+)%", quick)
        assert cells is not None, name
        usage, violations, gap_oracle, gap_forecast = (float(c) for c in cells.groups())
        assert usage == round(row["usage/mean"], 4)
        assert violations == round(100 * row["sla/violation_rate"], 2)
        assert gap_oracle == round(100 * row["gap/oracle"], 1)
        assert gap_forecast == round(100 * row["gap/forecast"], 1)
    ppo = policies["ppo"]
    for domain in ("ran", "tn", "cn", "edge"):
        cells = re.search(rf"│ usage {domain}\s+│ ([\d.]+) │", quick)
        assert cells is not None, domain
        assert float(cells.group(1)) == round(ppo[f"usage/{domain}"], 3), domain
