"""The reproduction's figures (matplotlib, PNG and SVG), from the outcomes of :mod:`.results`.

* ``fig4b_violation_cdf``: the paper's Fig. 4(b), the CDF of the per-day SLA violation rate while learning (each
  network's day is one sample) without and with baseline switching, one line per seed;
* ``fig4d_bc_online``: the paper's Fig. 4(d), the clone's usage over the behaviour-cloning epochs (left), then the
  online learning curve that starts from it next to the one from scratch (right), with the rule-based policy's
  usage as a line;
* ``live_learning``: on the live network, the learning curves (usage and violations) from scratch and pre-trained
  in simulation.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from netslice.intelligence.plots import save_figure
from netslice.intelligence.reproduce.plan import LIVE, SIM
from netslice.intelligence.reproduce.results import Outcome, smoothed

#: One colour per method.
COLOURS = {"lagrangian": "tab:red", "switching": "tab:blue", "bc-switching": "tab:green", "penalty": "tab:grey",
           "bc-lagrangian": "tab:olive",
           "live-scratch": "tab:blue", "live-sim": "tab:green"}  # fmt: skip
#: Updates averaged in the learning curves.
WINDOW = 10


def _finish(ax: Axes, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """Labels (where given), the grid and the legend of one panel."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _runs(outcomes: list[Outcome], scenario: str, name: str) -> list[Outcome]:
    return [o for o in outcomes if o.task.scenario == scenario and o.task.name == name]


def violation_cdf(outcomes: list[Outcome], path: Path) -> list[Path]:
    """Fig. 4(b) (see the module docstring)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in ("penalty", "lagrangian", "switching", "bc-lagrangian", "bc-switching"):
        for i, o in enumerate(_runs(outcomes, SIM, name)):
            if o.day_cdf is None or not o.day_cdf["rate"]:
                continue
            rate, frac = np.asarray(o.day_cdf["rate"]), np.asarray(o.day_cdf["fraction"])
            ax.step(np.r_[0.0, rate, 1.0], np.r_[0.0, frac, 1.0], where="post", color=COLOURS[name], alpha=0.7,
                    label=name if i == 0 else None)  # fmt: skip
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(0.0, 1.0)
    _finish(
        ax,
        "per-day SLA violation rate while learning (fraction of a network's slots that day)",
        "fraction of network-days",
    )
    ax.set_title(f"{SIM}: violations during online learning (one line per seed)")
    return save_figure(fig, path)


def bc_online(outcomes: list[Outcome], path: Path) -> list[Path]:
    """Fig. 4(d) (see the module docstring)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharey=True, gridspec_kw={"width_ratios": [1, 3]})
    for i, o in enumerate(_runs(outcomes, SIM, "bc")):
        if o.bc_history is None:
            continue
        history, teacher = o.bc_history
        epochs = [row["bc/epoch"] for row in history]
        left.plot(epochs, [row["usage/mean"] for row in history], color="tab:green", marker="o", alpha=0.7,
                  label="clone" if i == 0 else None)  # fmt: skip
        left.axhline(teacher["usage/mean"], color="black", linestyle="--", label="teacher" if i == 0 else None)
    _finish(left, "behaviour-cloning epoch", "weighted usage")
    for name in ("lagrangian", "switching", "bc-lagrangian", "bc-switching"):
        for i, o in enumerate(_runs(outcomes, SIM, name)):
            if o.curve is not None:
                right.plot(o.curve[:, 0], smoothed(o.curve[:, 1], WINDOW), color=COLOURS[name], alpha=0.7,
                           label=name if i == 0 else None)  # fmt: skip
    rule = [o.metrics["rule/usage/mean"] for o in _runs(outcomes, SIM, "baselines")]
    if rule:
        right.axhline(float(np.mean(rule)), color="black", linestyle=":", label="rule-based")
    _finish(right, "online env steps (rollout usage, exploration on)")
    fig.suptitle(f"{SIM}: behaviour cloning, then online learning")
    return save_figure(fig, path)


def live_learning(outcomes: list[Outcome], path: Path) -> list[Path]:
    """Learning on the live network from scratch and pre-trained in simulation."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    for name in ("live-scratch", "live-sim"):
        for i, o in enumerate(_runs(outcomes, LIVE, name)):
            if o.curve is None:
                continue
            label = name if i == 0 else None
            top.plot(o.curve[:, 0], smoothed(o.curve[:, 1], WINDOW), color=COLOURS[name], alpha=0.7, label=label)
            bottom.plot(o.curve[:, 0], smoothed(o.curve[:, 2], WINDOW), color=COLOURS[name], alpha=0.7, label=label)
    _finish(top, ylabel="weighted usage")
    _finish(bottom, "online env steps on the live network", "SLA violation rate")
    fig.suptitle(f"{LIVE}: learning online, from scratch and pre-trained on {SIM}")
    return save_figure(fig, path)


def write_all(outcomes: list[Outcome], out: Path) -> list[Path]:
    """Every figure of the module docstring into ``out``."""
    return [
        *violation_cdf(outcomes, out / "fig4b_violation_cdf"),
        *bc_online(outcomes, out / "fig4d_bc_online"),
        *live_learning(outcomes, out / "live_learning"),
    ]
