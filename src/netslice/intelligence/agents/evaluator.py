"""A bootstrap ensemble of MLPs that predicts each slice's SLA cost of an action, with an uncertainty.

:class:`EnsembleEvaluator` implements :class:`~netslice.intelligence.policies.switching.Evaluator` (and its
optional ``update``), so it can sit in a :class:`~netslice.intelligence.policies.switching.SwitchingPolicy`.

Contract:

==================================  ====================================================================
``predict(obs, action)``            ``(mean, std)`` ``(n, K)``: each member predicts the clipped cost of
                                    ``obs (n, n_obs) ⊕ action (n, n_act)``; ``mean`` is the members' mean
                                    minus ``tolerance`` (a margin: > 0 means a violation larger than the
                                    tolerance is predicted), ``std`` their standard deviation
``fit(obs, action, cost, epochs)``  offline (pre-)training: each member on its own bootstrap of the
                                    data, minibatch Adam on the squared error; the data also fill the
                                    replay buffer
``update(obs, action, cost)``       online: append the transitions to the replay buffer (the newest
                                    ``buffer_size`` are kept), then ``update_steps`` minibatch steps per
                                    member, each minibatch drawn with replacement (an online bootstrap)
``precision_recall(..., z)``        the metrics below on labelled transitions (e.g. held out)
determinism                         given ``seed`` and the same calls, bit-identical (its own
                                    ``torch.Generator``; no global RNG; ``torch.set_num_threads(1)``)
==================================  ====================================================================

Metrics (each documented once, here; keys of :meth:`EnsembleEvaluator.precision_recall`), for the claim
"this action violates" (some slice's cost > 0) made per row when ``any_k mean - z std > 0``, the switch rule:

=====================  =====================================================================================
``shield/precision``   fraction of rows predicted to violate that do violate (1 when none is predicted)
``shield/recall``      fraction of violating rows predicted to violate (1 when none violates)
=====================  =====================================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from netslice.intelligence.policies.switching import switch_mask

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class EnsembleConfig:
    """Hyper-parameters of :class:`EnsembleEvaluator`.

    Attributes:
        members: number of MLPs.
        hidden: hidden layer widths.
        lr: Adam learning rate.
        batch_size: minibatch size.
        tolerance: subtracted from the predicted cost (a predicted cost below it is no violation).
        buffer_size: transitions kept for online updates.
        update_steps: minibatch steps per member and :meth:`EnsembleEvaluator.update` call.
        seed: seed of the evaluator's own generator (initialisation, bootstraps, minibatches).
    """

    members: int = 5
    hidden: tuple[int, ...] = (64, 64)
    lr: float = 3e-3
    batch_size: int = 128
    tolerance: float = 0.02
    buffer_size: int = 100_000
    update_steps: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.members < 2:
            raise ValueError(f"members: an ensemble needs at least 2, got {self.members}")
        if self.batch_size < 1 or self.buffer_size < 1 or self.update_steps < 0:
            raise ValueError("batch_size and buffer_size must be >= 1, update_steps >= 0")


def _member(n_in: int, n_out: int, hidden: tuple[int, ...], gen: torch.Generator) -> nn.Sequential:
    """An MLP (ReLU) initialised from ``gen`` (uniform, He-scaled weights; zero biases)."""
    layers: list[nn.Module] = []
    sizes = (n_in, *hidden, n_out)
    for i, (a, b) in enumerate(pairwise(sizes)):
        # skip_init: nn.Linear's default initialisation would draw from the global RNG.
        linear: nn.Linear = nn.utils.skip_init(nn.Linear, a, b)  # type: ignore[no-untyped-call]
        bound = math.sqrt(6.0 / a)
        with torch.no_grad():
            linear.weight.copy_(torch.empty(b, a, dtype=torch.float32).uniform_(-bound, bound, generator=gen))
            linear.bias.zero_()
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def classification_metrics(
    mean: NDArray[np.floating], std: NDArray[np.floating], cost: NDArray[np.floating], z: float
) -> dict[str, float]:
    """``shield/precision`` and ``shield/recall`` of the switch rule's "this action violates" (module table)."""
    predicted = switch_mask(mean, std, z)
    actual = np.asarray((np.asarray(cost) > 0.0).any(axis=1), dtype=np.bool_)
    tp = int((predicted & actual).sum())
    n_pred, n_actual = int(predicted.sum()), int(actual.sum())
    return {
        "shield/precision": tp / n_pred if n_pred else 1.0,
        "shield/recall": tp / n_actual if n_actual else 1.0,
    }


class EnsembleEvaluator:
    """Bootstrap ensemble predicting per-slice clipped costs (see the module docstring)."""

    def __init__(self, n_obs: int, n_act: int, n_slices: int, config: EnsembleConfig | None = None) -> None:
        """Build ``config.members`` untrained MLPs ``n_obs + n_act -> n_slices``."""
        torch.set_num_threads(1)
        self.config = config or EnsembleConfig()
        self.n_obs, self.n_act, self.n_slices = n_obs, n_act, n_slices
        self._gen = torch.Generator().manual_seed(self.config.seed)
        self.members = [
            _member(n_obs + n_act, n_slices, self.config.hidden, self._gen) for _ in range(self.config.members)
        ]
        self._opts = [torch.optim.Adam(m.parameters(), lr=self.config.lr) for m in self.members]
        self._x = torch.empty((0, n_obs + n_act), dtype=torch.float32)
        self._y = torch.empty((0, n_slices), dtype=torch.float32)

    @property
    def n_buffered(self) -> int:
        """Transitions in the replay buffer."""
        return int(self._x.shape[0])

    def _inputs(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> torch.Tensor:
        o = np.asarray(obs, dtype=np.float32).reshape(-1, self.n_obs)
        a = np.asarray(action, dtype=np.float32).reshape(-1, self.n_act)
        if o.shape[0] != a.shape[0]:
            raise ValueError(f"obs ({o.shape[0]} rows) and action ({a.shape[0]} rows) must have the same rows")
        return torch.from_numpy(np.concatenate([o, a], axis=1))

    def _targets(self, cost: NDArray[np.floating], rows: int) -> torch.Tensor:
        c = np.clip(np.asarray(cost, dtype=np.float32), 0.0, 1.0)
        if c.shape != (rows, self.n_slices):
            raise ValueError(f"cost: expected ({rows}, {self.n_slices}), got {c.shape}")
        return torch.from_numpy(c)

    def _append(self, x: torch.Tensor, y: torch.Tensor) -> None:
        keep = self.config.buffer_size
        self._x = torch.cat([self._x, x])[-keep:]
        self._y = torch.cat([self._y, y])[-keep:]

    def _step(self, i: int, x: torch.Tensor, y: torch.Tensor) -> None:
        loss = ((self.members[i](x) - y) ** 2).mean()
        self._opts[i].zero_grad()
        loss.backward()
        self._opts[i].step()

    def predict(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> tuple[FloatArray, FloatArray]:
        """``(mean - tolerance, std)`` ``(n, K)`` over the members (see the module table)."""
        x = self._inputs(obs, action)
        with torch.no_grad():
            preds = torch.stack([m(x) for m in self.members]).double().numpy()
        return preds.mean(axis=0) - self.config.tolerance, preds.std(axis=0)

    def fit(
        self, obs: NDArray[np.floating], action: NDArray[np.floating], cost: NDArray[np.floating], epochs: int
    ) -> None:
        """Train every member ``epochs`` epochs on its own bootstrap of the transitions (offline)."""
        x = self._inputs(obs, action)
        y = self._targets(cost, x.shape[0])
        self._append(x, y)
        n, bs = x.shape[0], self.config.batch_size
        if n == 0:
            return
        for i in range(len(self.members)):
            boot = torch.randint(0, n, (n,), generator=self._gen)
            for _ in range(epochs):
                order = boot[torch.randperm(n, generator=self._gen)]
                for start in range(0, n, bs):
                    idx = order[start : start + bs]
                    self._step(i, x[idx], y[idx])

    def update(self, obs: NDArray[np.floating], action: NDArray[np.floating], cost: NDArray[np.floating]) -> None:
        """Learn online from transitions just played (see the module table)."""
        x = self._inputs(obs, action)
        self._append(x, self._targets(cost, x.shape[0]))
        n = self.n_buffered
        for i in range(len(self.members)):
            for _ in range(self.config.update_steps):
                idx = torch.randint(0, n, (min(n, self.config.batch_size),), generator=self._gen)
                self._step(i, self._x[idx], self._y[idx])

    def precision_recall(
        self, obs: NDArray[np.floating], action: NDArray[np.floating], cost: NDArray[np.floating], z: float
    ) -> dict[str, float]:
        """``shield/precision`` and ``shield/recall`` on labelled transitions (module table)."""
        mean, std = self.predict(obs, action)
        return classification_metrics(mean, std, cost, z)
