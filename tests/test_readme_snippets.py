"""README.md's code stays true: its RL-library snippets run, and the results it quotes are the committed ones.

Each ``python`` block of the "Use it from your RL library" section runs in a fresh interpreter (no netslice
import beforehand: what a user pasting it gets). The main-job tables must show the figures of
docs/results/testbed-v0-ppo-s0/evaluation.json, which ``test_reproducibility`` re-computes.
"""

from __future__ import annotations

import json
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


def test_the_section_has_a_snippet_per_library() -> None:
    joined = "\n".join(SNIPPETS)
    assert len(SNIPPETS) == 3
    for library in ("gymnasium.make(", "stable_baselines3", "pettingzoo"):
        assert library in joined


@pytest.mark.parametrize("code", SNIPPETS, ids=["gymnasium", "sb3", "pettingzoo"])
def test_readme_snippet_runs_in_a_fresh_interpreter(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


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
