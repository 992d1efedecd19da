"""Figures of training and evaluation (matplotlib, headless Agg backend), written as PNG and SVG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from netslice.intelligence.evaluate import EvalResult


def save_figure(fig: Figure, path: Path) -> list[Path]:
    """Write ``fig`` as ``path`` .png and .svg (folders made as needed), close it; return the two paths."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix in (".png", ".svg"):
        target = path.with_suffix(suffix)
        fig.savefig(target, dpi=130, bbox_inches="tight")
        out.append(target)
    plt.close(fig)
    return out


def learning_curve(history: list[dict[str, float]], path: str | Path) -> list[Path]:
    """Mean usage and SLA violation rate of the training rollouts against env steps."""
    steps = np.array([h["charts/global_step"] for h in history])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    ax1.plot(steps, [h["usage/mean"] for h in history], color="tab:blue")
    ax1.set_ylabel("weighted usage")
    ax1.grid(alpha=0.3)
    ax2.plot(steps, [h["sla/violation_rate"] for h in history], color="tab:red")
    ax2.set_ylabel("SLA violation rate")
    ax2.set_xlabel("env steps")
    ax2.grid(alpha=0.3)
    fig.suptitle("PPO training (exploration on)")
    return save_figure(fig, Path(path))


def daily_profile(results: dict[str, EvalResult], path: str | Path) -> list[Path]:
    """Per slice: mean usage and violation rate by hour of day, one line per policy."""
    first = next(iter(results.values()))
    n_slices = len(first.slices)
    fig, axes = plt.subplots(2, n_slices, figsize=(4 * n_slices, 5.5), sharex=True, squeeze=False)
    for name, res in results.items():
        hours, usage, viol = res.by_hour()
        for k in range(n_slices):
            axes[0, k].plot(hours, usage[:, k], marker=".", label=name)
            axes[1, k].plot(hours, viol[:, k], marker=".", label=name)
    for k, slice_name in enumerate(first.slices):
        axes[0, k].set_title(slice_name)
        axes[0, k].set_ylabel("weighted usage")
        axes[1, k].set_ylabel("violation rate")
        axes[1, k].set_xlabel("hour of day")
        for ax in axes[:, k]:
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    return save_figure(fig, Path(path))


def cost_figure(results: dict[str, EvalResult]) -> Figure:
    """Tail of the per-slot SLA cost: fraction of (env, slot) pairs whose largest slice cost exceeds x, log-log.

    The level on the left is the policy's violation rate, the drop on the right the size of its
    violations; a policy that never violates has no line (its legend entry says so). A linear CDF hid
    every policy but the static one at (0, 1).
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    lowest = 1.0
    finest = 1.0  # the smallest fraction a line can reach: one slot of the largest evaluation
    for name, res in results.items():
        worst = res.cost.max(axis=2).ravel()
        finest = min(finest, 1.0 / max(worst.size, 1))
        violating = np.sort(worst[worst > 0.0])
        if violating.size == 0:
            ax.plot([], [], label=f"{name} (no violation)")
            continue
        exceed = (violating.size - np.arange(violating.size)) / worst.size  # P(cost >= x) at each violating x
        ax.step(violating, exceed, where="post", label=f"{name} ({violating.size / worst.size:.1%} of slots)")
        lowest = min(lowest, float(violating[0]))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(max(lowest / 2.0, 1e-6), 1.5)
    ax.set_ylim(finest / 2.0, 1.5)  # explicit: with no violation at all there is no data to scale by
    ax.set_xlabel("SLA cost x (largest slice of the slot, normalised shortfall, clipped to 1)")
    ax.set_ylabel("fraction of slots with cost >= x")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def cost_cdf(results: dict[str, EvalResult], path: str | Path) -> list[Path]:
    """Write :func:`cost_figure` (the file keeps its historical name, ``cost_cdf``)."""
    return save_figure(cost_figure(results), Path(path))


def training_violations(history: list[dict[str, float]], path: str | Path) -> list[Path]:
    """SLA violation rate during training against env steps: per update, and cumulative (total and per slice).

    Reads the ``sla/violation_rate`` and ``train/violation_rate*`` metrics of the update rows
    (:class:`~netslice.intelligence.agents.ppo.PPOStats`, :mod:`~netslice.intelligence.agents.training_ledger`).
    """
    steps = np.array([h["charts/global_step"] for h in history])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, [h["sla/violation_rate"] for h in history], color="tab:red", alpha=0.4, label="per update")
    ax.plot(steps, [h["train/violation_rate"] for h in history], color="tab:red", label="cumulative, any slice")
    prefix = "train/violation_rate/"
    for key in (k for k in history[-1] if k.startswith(prefix)):
        ax.plot(steps, [h[key] for h in history], linestyle="--", label=f"cumulative, {key[len(prefix) :]}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("fraction of slots with an SLA violation")
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("SLA violations while learning (exploration on)")
    return save_figure(fig, Path(path))


def day_violation_cdf(cdf: dict[str, list[float]], path: str | Path) -> list[Path]:
    """CDF of the per-day violation rate during training (``cdf``: the ledger summary's ``day_violation_rate_cdf``)."""
    rates, fraction = np.asarray(cdf["rate"], dtype=float), np.asarray(cdf["fraction"], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    if rates.size:
        ax.step(np.r_[0.0, rates, 1.0], np.r_[0.0, fraction, 1.0], where="post", color="tab:red")
    else:
        ax.text(0.5, 0.5, "no complete day", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("daily SLA violation rate (fraction of a network's slots that day with any violation)")
    ax.set_ylabel("fraction of days")
    ax.grid(alpha=0.3)
    ax.set_title("SLA violations per day while learning")
    return save_figure(fig, Path(path))


def bc_curve(history: list[dict[str, float]], teacher: dict[str, float], path: str | Path) -> list[Path]:
    """The clone's evaluated usage and SLA violation rate over behaviour-cloning epochs, the teacher's as a line.

    Reads the rows of :attr:`~netslice.intelligence.imitation.bc.Clone.history` (``bc/epoch``, ``usage/mean``,
    ``sla/violation_rate``) and the teacher's evaluation summary on the same networks.
    """
    epochs = np.array([h["bc/epoch"] for h in history])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    for ax, key, label, color in ((ax1, "usage/mean", "weighted usage", "tab:blue"),
                                  (ax2, "sla/violation_rate", "SLA violation rate", "tab:red")):  # fmt: skip
        ax.plot(epochs, [h[key] for h in history], marker="o", color=color, label="clone")
        ax.axhline(teacher[key], color="black", linestyle="--", label="teacher")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax2.set_xlabel("behaviour-cloning epoch (0: before training)")
    fig.suptitle("Behaviour cloning: the clone evaluated after each epoch")
    return save_figure(fig, Path(path))
