"""Plain progress lines off a terminal, and comparison tables that fit 80 columns without cutting a number."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from netslice.intelligence import tables
from netslice.intelligence.progress import PlainProgress, progress
from netslice.network.allocation import DOMAINS


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _console(width: int, terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, force_terminal=terminal, color_system=None), buf


def test_plain_progress_prints_first_update_every_interval_and_completion() -> None:
    console, buf = _console(200, terminal=False)
    clock = FakeClock()
    bar = PlainProgress(console, interval_s=30.0, clock=clock)
    task = bar.add_task("train ppo", total=10, completed=0, info="")
    for t, done in ((1, 1), (10, 2), (20, 3), (31, 4), (40, 5), (62, 6), (70, 10)):
        clock.now = float(t)
        bar.update(task, completed=done, info=f"step {done * 100:,}/1,000, usage 0.300, violations 1.0%")
    lines = buf.getvalue().splitlines()
    assert [line.split(" ", 3)[2] for line in lines] == ["1/10", "4/10", "6/10", "10/10"]
    assert lines[0].startswith("train ppo: 1/10 (10%) step 100/1,000, usage 0.300, violations 1.0%; elapsed 0:00:01")
    assert lines[1].endswith("elapsed 0:00:31, ETA 0:00:46")  # 4 done in 31 s: 6 left take 46.5 s
    assert "ETA" not in lines[-1]


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise() -> None:
    assert isinstance(progress(_console(80, terminal=False)[0]), PlainProgress)
    assert not isinstance(progress(_console(80, terminal=True)[0]), PlainProgress)


def _table(slices: tuple[str, ...], policies: tuple[str, ...]) -> dict[str, dict[str, float]]:
    out = {}
    for i, name in enumerate(policies):
        row = {"usage/mean": 0.1234 + i / 10, "sla/violation_rate": 0.0875 * i, "gap/oracle": 1.431 * i,
               "gap/forecast": 0.981 + i, "reduction/rule": -0.522 * i}  # fmt: skip
        row |= {f"usage/{d}": 0.111 * (j + 1) + i / 100 for j, d in enumerate(DOMAINS)}
        row |= {f"sla/violation_rate/{s}": 0.01 * (k + 1) + i / 7 for k, s in enumerate(slices)}
        out[name] = row
    return out


TESTBED = ("mar", "video", "iot")
CITY = ("embb_video", "embb_web", "urllc_factory", "urllc_grid", "mmtc_meter", "mmtc_track", "mar_tour",
        "mar_retail", "v2x_cam", "v2x_platoon")  # fmt: skip
BASELINES = ("ppo", "static", "rule", "forecast", "oracle")


@pytest.mark.parametrize(
    ("slices", "policies"),
    [(TESTBED, BASELINES), (CITY, BASELINES), (TESTBED, (*BASELINES, "forecast:0.9", "testbed-v0-ppo-s1", "initial"))],
)
@pytest.mark.parametrize("terminal", [True, False])
def test_the_comparison_fits_80_columns_with_every_number_whole(
    slices: tuple[str, ...], policies: tuple[str, ...], terminal: bool
) -> None:
    table = _table(slices, policies)
    console, buf = _console(80, terminal)
    tables.render(table, slices, console, "testbed-v0: 5 days x 16 networks (usage = weighted mean allocated share)")
    text = buf.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    cells = set(re.findall(r"[+-]?[\d.]+%?", text))
    for name, row in table.items():
        assert name in text
        assert f"{row['usage/mean']:.4f}" in cells
        assert f"{row['sla/violation_rate']:.2%}" in cells
        assert f"{row['gap/oracle']:+.1%}" in cells
        assert f"{row['gap/forecast']:+.1%}" in cells
        assert f"{-row['reduction/rule']:+.1%}" in cells
        assert {f"{row[f'usage/{d}']:.3f}" for d in DOMAINS} <= cells
        assert {f"{row[f'sla/violation_rate/{s}']:.2%}" for s in slices} <= cells


def test_a_wide_terminal_gets_the_single_wide_table() -> None:
    table = _table(TESTBED, BASELINES)
    console, buf = _console(200, terminal=True)
    tables.render(table, TESTBED, console, "wide")
    header = next(line for line in buf.getvalue().splitlines() if "policy" in line)
    assert "viol video" in header
    assert "gap to forecast" in header
    assert "metric" not in buf.getvalue()  # no second table
