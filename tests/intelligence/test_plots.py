"""Figures: the SLA-cost figure shows every policy's violations, not only the static policy's."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from netslice.intelligence import plots
from netslice.intelligence.evaluate import EvalResult


def _result(name: str, cost: np.ndarray) -> EvalResult:
    t, n, k = cost.shape
    return EvalResult(policy=name, scenario="testbed-v0", slices=("a", "b", "c")[:k], seed=0,
                      reward=np.zeros((t, n)), usage=np.zeros((t, n, 4)), slice_usage=np.zeros((t, n, k)),
                      cost=cost, hour=np.zeros((t, n)), slots_per_episode=24)  # fmt: skip


def test_cost_figure_shows_small_and_rare_violations_on_log_axes(tmp_path: Path) -> None:
    cost = np.zeros((100, 2, 3))
    ppo = cost.copy()
    ppo[:4, 0, 1] = [1e-3, 2e-3, 0.05, 0.3]  # 4 of 200 slots, mostly tiny shortfalls
    static = cost.copy()
    static[:, :, 2] = 1.0  # every slot fully violated
    results = {"ppo": _result("ppo", ppo), "static": _result("static", static), "oracle": _result("oracle", cost)}
    fig = plots.cost_figure(results)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["ppo (2.0% of slots)", "static (100.0% of slots)", "oracle (no violation)"]
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(x, [1e-3, 2e-3, 0.05, 0.3])
    np.testing.assert_allclose(y, [0.02, 0.015, 0.01, 0.005])  # fraction of slots with cost >= x
    lo, hi = ax.get_xlim()
    assert lo <= 1e-3  # the smallest violation is on the plot
    assert hi >= 1.0
    plt.close(fig)
    paths = plots.cost_cdf(results, tmp_path / "cost_cdf")
    assert [p.name for p in paths] == ["cost_cdf.png", "cost_cdf.svg"]
    assert all(p.stat().st_size > 0 for p in paths)
    lo, hi = ax.get_ylim()
    assert lo <= 0.005 / 2  # one slot of 200 is on the plot
    assert hi >= 1.0


def test_cost_figure_renders_when_no_policy_violates(tmp_path: Path) -> None:
    """``netslice evaluate --policy rule`` alone: nothing to draw on the log axes, still a figure."""
    results = {"rule": _result("rule", np.zeros((24, 1, 3)))}
    paths = plots.cost_cdf(results, tmp_path / "cost_cdf")
    assert all(p.stat().st_size > 0 for p in paths)
    fig = plots.cost_figure(results)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["rule (no violation)"]
    plt.close(fig)
