"""``netslice train`` writes what learning cost: ``training.json`` with the documented keys, and its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netslice import cli
from netslice.intelligence import plots
from netslice.intelligence.run import TRAINING_FILE
from netslice.network.scenarios import load

TINY = ("--steps", "96", "--n-envs", "2", "--eval-days", "1", "--eval-envs", "1")


def test_a_tiny_training_run_writes_its_violations_while_learning(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["train", *TINY, "--run-dir", str(tmp_path), "--progress-every", "0"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / TRAINING_FILE).read_text())
    assert {"meta", "slots", "violating_slots", "violation_rate", "slices", "usage_mean", "days", "partial_days",
            "day_violation_rate", "day_violation_rate_cdf"} <= data.keys()  # fmt: skip
    assert data["slots"] == 96  # 2 updates x 24 slots x 2 networks
    assert data["days"] == 4
    assert data["partial_days"] == 0
    assert data["violation_rate"] == pytest.approx(data["violating_slots"] / 96)
    assert list(data["slices"]) == list(load("testbed-v0").params.slice_names)
    assert data["day_violation_rate"].keys() == {"mean", "p50", "p90", "p95", "p99", "max"}
    assert data["meta"]["updates"] == 2
    assert data["meta"]["train_envs"] == 2
    for name in ("training_violations", "day_violation_cdf"):
        for suffix in (".png", ".svg"):
            assert (tmp_path / f"{name}{suffix}").stat().st_size > 0
    results_line = next(line for line in result.output.splitlines() if line.startswith("results: "))
    assert str(tmp_path / TRAINING_FILE) in results_line
    assert "day_violation_cdf.png" in results_line
    assert f"violations {data['violation_rate']:.1%}" in result.output
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    assert "train/violation_rate" not in json.dumps(evaluation["policies"])  # the evaluation table is unchanged


def test_the_training_figures_plot_the_rows_and_the_cdf(tmp_path: Path) -> None:
    history = [
        {
            "charts/global_step": 48.0 * u,
            "sla/violation_rate": r,
            "train/violation_rate": c,
            "train/violation_rate/a": a,
        }
        for u, (r, c, a) in enumerate([(0.5, 0.5, 0.25), (0.1, 0.3, 0.2)], start=1)
    ]
    paths = plots.training_violations(history, tmp_path / "tv")
    assert [p.name for p in paths] == ["tv.png", "tv.svg"]
    paths = plots.day_violation_cdf({"rate": [0.0, 0.5], "fraction": [0.75, 1.0]}, tmp_path / "cdf")
    assert all(p.stat().st_size > 0 for p in paths)
    assert plots.day_violation_cdf({"rate": [], "fraction": []}, tmp_path / "none")[0].exists()


def test_a_tiny_switching_run_pretrains_switches_and_evaluates_behind_its_shield(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shield = ("--shield-pretrain-slots", "24", "--shield-members", "2", "--shield-holdout", "0.5",
              "--shield-hidden", "8")  # fmt: skip
    args = ["train", *TINY, "--switching", *shield, "--run-dir", str(run), "--progress-every", "0"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert "shield pretrained offline on 48 slots" in result.output  # 24 slots x 2 networks, its own simulator
    data = json.loads((run / TRAINING_FILE).read_text())
    assert data["meta"]["shield"]["shield/decisions"] == 96  # every slot played went through the shield
    assert data["meta"]["pretrain"]["shield/pretrain/slots"] == 48
    assert data["slots"] == 96  # the offline slots are not training slots
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert {"ppo", "ppo+switching", "rule"} <= evaluation["policies"].keys()
    out = tmp_path / "eval"
    result = CliRunner().invoke(cli.app, ["evaluate", "--policy", f"switching:{run}", "--days", "1", "--n-envs", "1",
                                          "--out", str(out), "--progress-every", "0"])  # fmt: skip
    assert result.exit_code == 0, result.output
    again = json.loads((out / "evaluation.json").read_text())["policies"]
    assert len(again) == 1
    assert list(again) == ["switching:run"]  # the run folder's name, marked as behind its shield
    (row,) = again.values()
    trained = evaluation["policies"]["ppo+switching"]  # the same frozen shield, the same evaluation networks
    assert row == {k: trained[k] for k in row}  # (alone, no gaps to the oracle and the forecast)


def test_evaluating_a_run_without_a_shield_behind_one_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["train", *TINY, "--run-dir", str(tmp_path), "--progress-every", "0"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli.app, ["evaluate", "--policy", f"switching:{tmp_path}", "--days", "1"])
    assert result.exit_code == 2
    assert "trained without switching" in result.output
