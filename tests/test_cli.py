"""The ``netslice`` command line as a user meets it: output off a terminal, help texts, error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from netslice import cli
from netslice.network.scenarios.sla import SlaTargets

BOX = "┏┃┡│└├┗"


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _table_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line[:1] in BOX]


def test_train_off_a_terminal_prints_plain_progress_lines_and_80_column_tables(tmp_path: Path) -> None:
    out = _invoke("train", "--steps", "192", "--n-envs", "2", "--eval-days", "1", "--eval-envs", "1",
                  "--run-dir", str(tmp_path), "--progress-every", "0")  # fmt: skip
    progress = [line for line in out.splitlines() if line.startswith("train ppo:")]
    assert len(progress) == 4  # 192 steps / (24 slots x 2 networks): one line per update with interval 0
    assert re.match(r"train ppo: 1/4 \(25%\) step 48/192, [\d,]+ steps/s, usage 0\.\d{3}, violations [\d.]+% "
                    r"\(so far [\d.]+%\); elapsed \d:\d\d:\d\d, ETA \d:\d\d:\d\d$", progress[0])  # fmt: skip
    assert progress[-1].startswith("train ppo: 4/4 (100%) step 192/192")
    assert "━━━━━━━━━━" not in "\n".join(line for line in out.splitlines() if line[:1] not in BOX)  # no bar
    table = _table_lines(out)
    assert table
    assert max(len(line) for line in table) <= 80
    assert "…" not in out
    assert json.loads((tmp_path / "evaluation.json").read_text())["policies"].keys() == {
        "ppo", "static", "rule", "forecast", "oracle"
    }  # fmt: skip


def test_evaluate_off_a_terminal_prints_the_80_column_tables(tmp_path: Path) -> None:
    out = _invoke("evaluate", "--policy", "static", "--policy", "rule", "--policy", "forecast:0.9", "--days", "1",
                  "--n-envs", "1", "--out", str(tmp_path))  # fmt: skip
    table = _table_lines(out)
    assert max(len(line) for line in table) <= 80
    assert "…" not in out
    policies = json.loads((tmp_path / "evaluation.json").read_text())["policies"]
    for name, row in policies.items():
        assert name in out
        assert f"{row['usage/mean']:.4f}" in out
        assert f"{row['usage/edge']:.3f}" in out


def test_simulate_shows_the_per_slot_statistic_the_sla_is_judged_on(tmp_path: Path) -> None:
    trace = tmp_path / "kpis.json"
    out = _invoke("simulate", "--steps", "48", "--out", str(trace))
    assert "median / worst 5%" in out
    slots = json.loads(trace.read_text())["slots"]
    mar = np.array([s["latency_ms"][0] for s in slots])  # mar: latency <= 500 ms on the slot's mean latency
    row = next(line for line in out.splitlines() if line.startswith("│ mar "))
    assert f"{np.median(mar):.1f} / {np.percentile(mar, 95):.1f} ms" in row
    fps = np.array([s["fps"][1] for s in slots])  # video: fps >= 25, a lower bound: its worst slots are the lowest
    row = next(line for line in out.splitlines() if line.startswith("│ video "))
    assert f"{np.median(fps):.1f} / {np.percentile(fps, 5):.1f}" in row


def test_simulate_a_scenario_whose_slices_come_and_go_runs_its_request_process(tmp_path: Path) -> None:
    # metro-dynamic-v0 was simulated with all 10 slots live in every slot: the scenario without its arrivals.
    trace = tmp_path / "kpis.json"
    out = _invoke("simulate", "--scenario", "metro-dynamic-v0", "--steps", "24", "--out", str(trace))
    slots = json.loads(trace.read_text())["slots"]
    live = np.array([s["live"] for s in slots])  # (24, 10): the slices live in each slot
    assert 0 < live.sum(axis=1).max() <= 5  # metro-dynamic-v0: at most 5 live at once
    assert not live.all(axis=0).all()
    ues = np.array([s["active_ues"] for s in slots])
    assert np.all(ues[~live] == 0.0)  # an absent slot has no UEs
    assert " live " in out
    never = [k for k in range(live.shape[1]) if not live[:, k].any()]
    assert never  # with seed 0 some slot stays empty for 24 slots; its row reads "-"
    name = json.loads(trace.read_text())["slices"][never[0]]
    row = next(line for line in out.splitlines() if line.startswith(f"│ {name} "))
    assert row.split("│")[2].strip() == "-"
    assert row.split("│")[-2].strip() == "0%"


def test_a_mean_latency_sla_is_judged_on_the_typical_slot_not_the_mean() -> None:
    # 57 ms mean over slots, yet 49 of 50 slots meet "latency <= 10 ms": the median slot shows it.
    nan = np.array([np.nan])
    targets = SlaTargets(latency_ms=np.array([10.0]), latency_tail=np.array([False]), thp_dl_kbps=nan,
                         thp_ul_kbps=nan, fps=nan, reliability=np.array([0.999]))  # fmt: skip
    latency = np.full((50, 1), 4.0)
    latency[7] = 2654.0
    judged = {"latency_ms": latency, "reliability": np.full((50, 1), 0.9995)}
    assert cli.judged_cell(targets, judged, 0) == "4.0 / 4.0 ms\n0.999500 / 0.999500"


@pytest.mark.parametrize(("command", "words"), [
    ("train", ["static", "rule", "forecast", "oracle"]),
    ("evaluate", ["static", "initial", "rule", "forecast:Q", "forecast:0.9", "oracle", "checkpoint"]),
])  # fmt: skip
def test_help_lists_every_baseline_and_policy_form(command: str, words: list[str]) -> None:
    text = " ".join(_invoke(command, "--help").replace("│", " ").split())
    for word in words:
        assert word in text


def test_simulate_with_a_missing_scenario_file_says_not_found() -> None:
    result = CliRunner().invoke(cli.app, ["simulate", "--scenario", "./nope.yaml", "--steps", "1"])
    assert result.exit_code == 2
    assert "error: scenario file './nope.yaml': not found" in result.output
    assert "unknown" not in result.output


def test_evaluate_on_a_folder_without_checkpoint_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["evaluate", "--policy", str(tmp_path), "--out", str(tmp_path / "ev")])
    assert result.exit_code == 2
    assert f"error: policy: folder '{tmp_path}' has no checkpoint.pt" in result.output
