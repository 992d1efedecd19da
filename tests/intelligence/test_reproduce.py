"""``netslice reproduce``: the plan, the curve helpers, and the quick run end to end (as CI runs it)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from netslice.cli import app
from netslice.errors import ConfigError
from netslice.intelligence.agents.lagrangian import DualAscent, PIDLagrangian
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.reproduce.plan import LIVE, SIM, Settings, plan
from netslice.intelligence.reproduce.results import final_rollout_usage, first_step_within, smoothed, spread
from netslice.intelligence.reproduce.runner import DONE_FILE


def test_plan_has_every_method_per_seed_and_dependencies_first(tmp_path: Path) -> None:
    tasks = plan(Settings(seeds=(0, 3)), tmp_path)
    names = {(t.scenario, t.name, t.seed) for t in tasks}
    for seed in (0, 3):
        for name in ("baselines", "bc", "penalty", "lagrangian", "switching", "bc-lagrangian", "bc-switching"):
            assert (SIM, name, seed) in names
        for name in ("baselines", "live-scratch", "live-sim"):
            assert (LIVE, name, seed) in names
    seen: set[Path] = set()
    for task in tasks:  # the planned order already respects the dependencies
        assert all(need in seen for need in task.needs), task.folder
        seen.add(task.folder)
    warm = next(t for t in tasks if t.name == "bc-switching" and t.seed == 3)
    assert warm.config["warm_actor"] == str(tmp_path / SIM / "bc-s3")
    assert warm.config["lambda_init"] > 0.0
    live = next(t for t in tasks if t.name == "live-sim" and t.seed == 0)
    assert live.config["warm_actor"] == str(tmp_path / SIM / "switching-s0")
    assert live.config["scenario"] == LIVE
    scratch = next(t for t in tasks if t.name == "live-scratch")
    assert "warm_actor" not in scratch.config
    assert all(t.config.get("total_steps", Settings().steps) == Settings().steps for t in tasks)


def test_settings_check_their_sizes() -> None:
    with pytest.raises(ConfigError, match="seeds: give at least one seed"):
        Settings(seeds=())
    with pytest.raises(ConfigError, match="steps: must be at least 1"):
        Settings(steps=0)


def test_curve_helpers_known_answers() -> None:
    np.testing.assert_allclose(smoothed(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])
    run = np.array([[100.0, 0.9, 0.0], [200.0, 0.5, 0.0], [300.0, 0.3, 0.0], [400.0, 0.2, 0.0]])
    assert first_step_within(run, 0.4, window=1) == 300.0
    assert first_step_within(run, 0.1, window=1) == float("inf")
    assert final_rollout_usage(run, window=2) == pytest.approx(0.25)
    assert spread([0.1, 0.3]) == (pytest.approx(0.2), 0.3)
    assert spread([0.1, 0.3], worst="min")[1] == 0.1


def test_multipliers_start_at_lambda_init() -> None:
    pid = SafetyConfig(method="pid", lambda_init=8.0, pid_ki=2.0).multipliers(("a", "b"))
    assert isinstance(pid, PIDLagrangian)
    np.testing.assert_array_equal(pid.lam, [8.0, 8.0])
    np.testing.assert_array_equal(pid.integral, [4.0, 4.0])  # lam0 / K_I
    pid.observe(np.array([0.01, 0.01]))  # at the limit: P is 0, I unchanged, lambda stays
    np.testing.assert_allclose(pid.lam, [8.0, 8.0])
    dual = SafetyConfig(method="lagrangian", lambda_init=2.0).multipliers(("a",))
    assert isinstance(dual, DualAscent)
    np.testing.assert_array_equal(dual.lam, [2.0])
    assert SafetyConfig(method="pid").multipliers(("a",)).lam.tolist() == [0.0]  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="lambda_init: must be a finite number of at least 0"):
        SafetyConfig(method="pid", lambda_init=-1.0)


def test_quick_reproduction_writes_every_section_and_resumes(tmp_path: Path) -> None:
    """What CI runs: ``netslice reproduce --quick`` (one seed, a few updates, two worker processes)."""
    out = tmp_path / "repro"
    result = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(out), "--report-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "r" / "report.md").read_text()
    for section in ("## testbed-v0 (simulated testbed)", "## testbed-live-v0", "## Targets", "## Figures",
                    "## Commands", "fig4b_violation_cdf.png", "fig4d_bc_online.png", "live_learning.png"):  # fmt: skip
        assert section in report, section
    for row in ("rule-based", "PPO, cost penalty", "PPO, PID Lagrangian", "+ baseline switching", "+ BC warm start",
                "PID Lagrangian + BC warm start",
                "+ sim pre-training", "forecast planner", "forecast planner, SLA-safe (forecast:0.9999)",
                "oracle (clairvoyant)", "OnSlicing: -61.3 %", "the SLA-safe planner (forecast:0.9999) against the "
                "same from-scratch final usage", "--policy forecast:0.9999"):  # fmt: skip
        assert row in report, row
    assert "netslice reproduce --quick" in report
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert len(results["tasks"]) == 10
    assert results["settings"]["seeds"] == [0]
    for picture in ("fig4b_violation_cdf.png", "fig4d_bc_online.png", "live_learning.png"):
        assert (tmp_path / "r" / picture).stat().st_size > 10_000
    done = sorted(out.rglob(DONE_FILE))
    assert len(done) == 10
    assert {json.loads(p.read_text())["kind"] for p in done} == {"baselines", "bc", "train"}
    # a rerun finds every task done: it only rewrites the report
    stamps = [p.stat().st_mtime for p in done]
    start = time.perf_counter()
    again = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(out), "--report-dir", str(tmp_path / "r")])
    assert again.exit_code == 0, again.output
    assert [p.stat().st_mtime for p in done] == stamps
    assert time.perf_counter() - start < 60
