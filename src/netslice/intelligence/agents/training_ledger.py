"""What learning cost the operator: SLA violations and usage over every slot a training run plays.

:class:`TrainingLedger` counts every slot of every parallel network that a training run plays, from its
first update to its last (exploration on), in the order played. It keeps exact integer counts, so its
rates are exact fractions, and it consumes no random numbers: feeding it changes nothing that is trained.

A *day* is one episode (``slots_per_episode`` slots) of one network: the ledger counts the violating
slots of each (network, day) and, when the env reports the episode's end, adds the day to a histogram
(days by length and violating slots), from which the per-day violation rate's CDF (the form of the
paper's Fig. 4(b)) and its quantiles are exact. Days still open when the run stops (a partial day,
e.g. at the end of training) are not in the histogram; :meth:`TrainingLedger.summary` counts them.

Metrics (documented here once; :meth:`TrainingLedger.metrics`; each cumulative over the whole run so far):

================================== ==================================================================
``train/slots``                    slots played (env steps: slots x networks)
``train/violation_rate``           fraction of those slots in which any slice's SLA cost was > 0
``train/violation_rate/<slice>``   fraction of those slots in which that slice's SLA cost was > 0
``train/usage_mean``               mean weighted usage (minus the usage reward) over those slots
``train/days``                     complete days (network episodes) played
================================== ==================================================================

Per-slice agents (:mod:`~netslice.intelligence.envs.slice_agents`, one sub-env per network and slice slot, slices
that come and go) feed only the *live* slice-slots (``live`` of :meth:`TrainingLedger.record`): there ``slots``
are live slice-slots, a violation is that slice missing its SLA, ``usage_mean`` is the mean usage of one live
slice, and a "day" is the part of an episode one slice was live in (it closes at the episode's end or when the
slice leaves). Empty slots count nowhere.

They differ from PPO's per-update ``sla/violation_rate`` and ``usage/mean``
(:class:`~netslice.intelligence.agents.ppo.PPOStats`), which cover only the slots of one update, and
from ``netslice evaluate``'s metrics of the same names (:mod:`netslice.intelligence.evaluate`), which
measure the final deterministic policy on fresh evaluation networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
#: Quantiles of the per-day violation rate in :meth:`TrainingLedger.summary`.
DAY_QUANTILES = (0.5, 0.9, 0.95, 0.99)


class TrainingLedger:
    """Running totals of SLA violations and usage over the slots of a training run.

    Args:
        slices: slice names, in the order of the cost columns.
        n_envs: parallel networks per slot.
    """

    def __init__(self, slices: Sequence[str], n_envs: int) -> None:
        self.slices = tuple(slices)
        self.n_envs = int(n_envs)
        self.slots = 0
        self.violating = 0
        self.slice_violating = np.zeros(len(self.slices), dtype=np.int64)
        self.usage_sum = 0.0
        self.open_slots = np.zeros(self.n_envs, dtype=np.int64)  # slots of each network's current day
        self.open_violating = np.zeros(self.n_envs, dtype=np.int64)
        self.day_hist = np.zeros((1, 1), dtype=np.int64)  # [length, violating slots] -> complete days

    def record(self, cost: ArrayLike, usage: ArrayLike, ended: ArrayLike, live: ArrayLike | None = None) -> None:
        """Count one slot of every network (or of the live entries only).

        Args:
            cost: ``(n_envs, K)`` SLA cost of each slice (> 0: the slice missed its SLA).
            usage: ``(n_envs,)`` weighted usage of each network.
            ended: ``(n_envs,)`` bool, True where this slot ended the network's episode (its day).
            live: ``(n_envs,)`` bool, the entries that count (per-slice agents: the slots with a live slice;
                see the module docstring); default all.
        """
        missed = np.asarray(cost, dtype=np.float64) > 0.0
        if missed.shape != (self.n_envs, len(self.slices)):
            raise ValueError(f"cost: expected shape {(self.n_envs, len(self.slices))}, got {missed.shape}")
        used = np.asarray(usage, dtype=np.float64)
        if live is None:
            counted: NDArray[np.bool_] | bool = True
            self.slots += self.n_envs
        else:
            counted = np.asarray(live, dtype=bool)
            missed &= counted[:, None]
            used = used[counted]
            self.slots += int(counted.sum())
        any_missed = missed.any(axis=1)
        self.violating += int(any_missed.sum())
        self.slice_violating += missed.sum(axis=0)
        self.usage_sum += float(used.sum())
        self.open_slots += counted
        self.open_violating += any_missed
        done = np.asarray(ended, dtype=bool) & (self.open_slots > 0)
        if done.any():
            lengths, counts = self.open_slots[done], self.open_violating[done]
            top = int(lengths.max())
            if top >= self.day_hist.shape[0]:
                grow = top + 1 - self.day_hist.shape[0]
                self.day_hist = np.pad(self.day_hist, ((0, grow), (0, grow)))
            np.add.at(self.day_hist, (lengths, counts), 1)
            self.open_slots[done] = 0
            self.open_violating[done] = 0

    @property
    def days(self) -> int:
        """Complete days (network episodes) counted."""
        return int(self.day_hist.sum())

    def _rate(self, count: int | np.int64) -> float:
        return float(count) / self.slots if self.slots else 0.0

    def metrics(self) -> dict[str, float]:
        """The cumulative metrics (named in the module docstring)."""
        out = {"train/slots": float(self.slots), "train/violation_rate": self._rate(self.violating)}
        out.update(
            {f"train/violation_rate/{s}": self._rate(c) for s, c in zip(self.slices, self.slice_violating, strict=True)}
        )
        out["train/usage_mean"] = self.usage_sum / self.slots if self.slots else 0.0
        out["train/days"] = float(self.days)
        return out

    def day_rate_cdf(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The CDF of the per-day violation rate over the complete days.

        Returns:
            ``(rates, fraction)``: the distinct daily rates, ascending, and the fraction of days with a rate
            at most each (both empty before the first complete day).
        """
        length, violating = np.nonzero(self.day_hist)
        if length.size == 0:
            return np.zeros(0), np.zeros(0)
        rates = violating / length
        order = np.argsort(rates, kind="stable")
        rates, days = rates[order], self.day_hist[length, violating][order]
        distinct, first = np.unique(rates, return_index=True)
        cum = np.cumsum(days)
        last = np.append(first[1:], rates.size) - 1
        return distinct.astype(np.float64), (cum[last] / max(self.days, 1)).astype(np.float64)

    def day_rate_quantile(self, q: float) -> float | None:
        """The smallest daily violation rate r with at least a fraction ``q`` of days at or below r (None: no day)."""
        rates, fraction = self.day_rate_cdf()
        if rates.size == 0:
            return None
        return float(rates[min(int(np.searchsorted(fraction, q - 1e-12)), rates.size - 1)])

    def summary(self) -> dict[str, Any]:
        """The run's totals as plain JSON data (what ``run_dir/training.json`` holds)."""
        rates, fraction = self.day_rate_cdf()
        length, violating = np.nonzero(self.day_hist)
        weights = self.day_hist[length, violating]
        return {
            "slots": self.slots,
            "violating_slots": self.violating,
            "violation_rate": self._rate(self.violating),
            "slices": {
                s: {"violating_slots": int(c), "violation_rate": self._rate(c)}
                for s, c in zip(self.slices, self.slice_violating, strict=True)
            },
            "usage_mean": self.usage_sum / self.slots if self.slots else 0.0,
            "days": self.days,
            "partial_days": int((self.open_slots > 0).sum()),
            "day_violation_rate": {
                "mean": float((violating / length * weights).sum() / self.days) if self.days else None,
                **{f"p{round(q * 100)}": self.day_rate_quantile(q) for q in DAY_QUANTILES},
                "max": float(rates[-1]) if rates.size else None,
            },
            "day_violation_rate_cdf": {"rate": rates.tolist(), "fraction": fraction.tolist()},
        }

    def state(self) -> dict[str, Any]:
        """Everything needed to continue counting, as plain data and arrays (for checkpoints)."""
        return {
            "slices": list(self.slices), "n_envs": self.n_envs, "slots": self.slots, "violating": self.violating,
            "slice_violating": self.slice_violating.copy(), "usage_sum": self.usage_sum,
            "open_slots": self.open_slots.copy(), "open_violating": self.open_violating.copy(),
            "day_hist": self.day_hist.copy(),
        }  # fmt: skip

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TrainingLedger:
        """The ledger :meth:`state` describes (arrays may come back as tensors from a checkpoint)."""
        ledger = cls(state["slices"], int(state["n_envs"]))
        ledger.slots, ledger.violating = int(state["slots"]), int(state["violating"])
        ledger.usage_sum = float(state["usage_sum"])
        for name in ("slice_violating", "open_slots", "open_violating", "day_hist"):
            value = np.asarray(state[name], dtype=np.int64).copy()
            if value.shape != getattr(ledger, name).shape and name != "day_hist":
                raise ValueError(f"ledger {name}: shape {value.shape}, expected {getattr(ledger, name).shape}")
            setattr(ledger, name, value)
        return ledger
