"""The ``netslice`` command line as a user meets it: output off a terminal, help texts, error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from netslice import cli

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
    assert re.match(r"train ppo: 1/4 \(25%\) step 48/192, [\d,]+ steps/s, usage 0\.\d{3}, violations [\d.]+%; "
                    r"elapsed \d:\d\d:\d\d, ETA \d:\d\d:\d\d$", progress[0])  # fmt: skip
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
