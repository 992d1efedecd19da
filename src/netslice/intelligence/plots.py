"""Figures of training and evaluation (matplotlib, headless Agg backend), written as PNG and SVG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from netslice.intelligence.evaluate import EvalResult


def _save(fig: Figure, path: Path) -> list[Path]:
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
    return _save(fig, Path(path))


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
    return _save(fig, Path(path))


def cost_cdf(results: dict[str, EvalResult], path: str | Path) -> list[Path]:
    """Empirical CDF of the per-slot SLA cost (largest slice cost of each (env, slot)), one line per policy."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, res in results.items():
        worst = np.sort(res.cost.max(axis=2).ravel())
        ax.step(worst, np.arange(1, worst.size + 1) / worst.size, where="post", label=name)
    ax.set_xlabel("SLA cost (largest slice, clipped to [0, 1])")
    ax.set_ylabel("fraction of slots")
    ax.set_xlim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, Path(path))
