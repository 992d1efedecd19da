"""A bootstrap ensemble of MLPs that predicts each slice's SLA cost (or margin) of an action, with an uncertainty.

:class:`EnsembleEvaluator` implements :class:`~netslice.intelligence.policies.switching.Evaluator` (and its
optional ``update``), so it can sit in a :class:`~netslice.intelligence.policies.switching.SwitchingPolicy`; the
training shield (:mod:`.shield`) drives it during PPO.

Contract:

==================================  ====================================================================
``predict(obs, action)``            ``(mean, std)`` ``(n, K)``: each member predicts the target of
                                    ``obs (n, n_obs) ⊕ action (n, n_act)``; ``mean`` is the members' mean
                                    minus ``tolerance`` (a margin: > 0 means a violation larger than the
                                    tolerance is predicted), ``std`` their standard deviation
target                              anything whose sign says "violates" (> 0): the clipped SLA cost in
                                    [0, 1] (the default bounds) or the signed SLA margin (bounds [-1, 1],
                                    :func:`~.shield.sla_margin`); clipped to ``[target_low, target_high]``
input normalisation                 ``(x - mean) / max(std, 1e-3)`` per input (``normalise``), mean and
                                    std fixed from the first data seen (:meth:`fit` or the first :meth:`update`):
                                    the pretraining data in the shield; saved by :meth:`state`
``fit(obs, action, target, epochs)``  offline (pre-)training: each member on its own bootstrap of the
                                    data, minibatch Adam on the squared error (or the pinball loss of
                                    ``quantile``: each member then predicts a quantile); the data become the
                                    buffer's anchor, kept for good (never overwritten by online data)
``update(obs, action, target)``     online: append the transitions to the replay ring (the newest
                                    ``buffer_size`` rows are kept), then ``update_steps`` minibatch steps,
                                    each member's minibatch drawn with replacement from anchor and ring
                                    alike (an online bootstrap that keeps the offline data in play)
``precision_recall(..., z)``        the metrics below on labelled transitions (e.g. held out)
determinism                         given ``seed`` and the same calls, bit-identical (its own
                                    ``torch.Generator``; no global RNG; ``torch.set_num_threads(1)``)
==================================  ====================================================================

The members are trained side by side as one batched network (weights ``(members, in, out)``, ``torch.baddbmm``):
one Adam over all of them is the same as one per member (Adam is elementwise and the members' losses are summed).

Metrics (each documented once, here; keys of :meth:`EnsembleEvaluator.precision_recall`), for the claim
"this action violates" (some slice's target > 0) made per row when ``any_k mean - z std > 0``, the switch rule:

=====================  =====================================================================================
``shield/precision``   fraction of rows predicted to violate that do violate (1 when none is predicted)
``shield/recall``      fraction of violating rows predicted to violate (1 when none violates)
=====================  =====================================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from netslice.intelligence.envs.features import N_SLICE_FEATURES, N_TIME_FEATURES
from netslice.intelligence.policies.switching import switch_mask

FloatArray = NDArray[np.float64]
#: Floor of the input scale of the normalisation (constant features are left centred, not blown up).
MIN_INPUT_STD = 1e-3
#: Offset of the log-action inputs, ``log(a + LOG_ACTION_EPS)`` (shares far below it read alike).
LOG_ACTION_EPS = 1e-3


@dataclass(frozen=True)
class EnsembleConfig:
    """Hyper-parameters of :class:`EnsembleEvaluator`.

    Attributes:
        members: number of MLPs.
        hidden: hidden layer widths.
        lr: Adam learning rate.
        batch_size: minibatch size (per member).
        tolerance: subtracted from the predicted target (a predicted target below it is no violation).
        buffer_size: rows of the online replay ring (a transition is one row, K rows with ``per_slice``).
        update_steps: minibatch steps per :meth:`EnsembleEvaluator.update` call.
        seed: seed of the evaluator's own generator (initialisation, bootstraps, minibatches).
        target_low: lower clip of the training target (0: the clipped cost; -1: the signed margin).
        target_high: upper clip of the training target.
        normalise: standardise the inputs (see the module table); off, they go in as they are.
        per_slice: one network for every slice, fed one slice at a time (needs the encoder's layout): the slice's
            observation block, the time features, its column of the action (and its log), each resource's total
            over the slices (the capacity coupling) and the slice's one-hot; predicts that slice's target.
            Actions combine per slice: a slice's safe column is recognised whatever the others' are.
        log_action: also feed ``log(action + 1e-3)`` (SLA terms scale with ratios of shares: a threshold on a
            share is a threshold on its log, and small shares get resolution).
        quantile: None: each member regresses the mean target (squared error); a level ``tau`` in (0, 1): each
            member regresses the target's ``tau`` quantile given (state, action) (pinball loss
            ``max(tau u, (tau - 1) u)``, ``u = target - prediction``). The target is random given (state,
            action): the coming slot's traffic is not in the state. Near the SLA boundary the mean says
            "safe" for actions that violate in a large share of slots; the ``tau`` quantile is > 0 when
            more than ``1 - tau`` of them violate. The members' spread stays the epistemic uncertainty.
        expectation: also predict, per slice, the probability that the target is > 0 (a logit head, binary
            cross-entropy on ``target > 0``) and the expected clipped cost ``E[clip(target, 0, 1)]`` (a head on
            the squared error), on the same trunk: :meth:`EnsembleEvaluator.expected`. A quantile says whether
            an action is safe with high confidence; these say what it costs on average (how a switched
            action is judged in learning with ``switched_samples="corrected"``, :mod:`.switched_samples`).
    """

    members: int = 5
    hidden: tuple[int, ...] = (64, 64)
    lr: float = 3e-3
    batch_size: int = 128
    tolerance: float = 0.02
    buffer_size: int = 100_000
    update_steps: int = 1
    seed: int = 0
    target_low: float = 0.0
    target_high: float = 1.0
    normalise: bool = True
    log_action: bool = False
    per_slice: bool = False
    quantile: float | None = None
    expectation: bool = False

    def __post_init__(self) -> None:
        if self.quantile is not None and not 0.0 < self.quantile < 1.0:
            raise ValueError(f"quantile: must be in (0, 1) or None, got {self.quantile}")
        if self.members < 2:
            raise ValueError(f"members: an ensemble needs at least 2, got {self.members}")
        if self.batch_size < 1 or self.buffer_size < 1 or self.update_steps < 0:
            raise ValueError("batch_size and buffer_size must be >= 1, update_steps >= 0")
        if not self.target_low < self.target_high:
            raise ValueError(f"target_low: must be below target_high, got {self.target_low} >= {self.target_high}")


def _layers(
    n_in: int, n_out: int, hidden: tuple[int, ...], members: int, gen: torch.Generator
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Weights ``(members, a, b)`` and biases ``(members, 1, b)`` of each layer: He-uniform from ``gen``, zero bias."""
    out = []
    for a, b in pairwise((n_in, *hidden, n_out)):
        bound = math.sqrt(6.0 / a)
        w = torch.empty(members, a, b, dtype=torch.float32).uniform_(-bound, bound, generator=gen)
        out.append((w.requires_grad_(), torch.zeros(members, 1, b, requires_grad=True)))
    return out


def regression_loss(prediction: NDArray[np.floating], target: NDArray[np.floating], quantile: float | None) -> float:
    """The evaluator's training loss, as a number: mean squared error, or mean pinball loss of ``quantile``."""
    u = np.asarray(target, dtype=np.float64) - np.asarray(prediction, dtype=np.float64)
    return float(np.mean(u**2 if quantile is None else np.maximum(quantile * u, (quantile - 1.0) * u)))


def classification_metrics(
    mean: NDArray[np.floating], std: NDArray[np.floating], target: NDArray[np.floating], z: float
) -> dict[str, float]:
    """``shield/precision`` and ``shield/recall`` of the switch rule's "this action violates" (module table)."""
    predicted = switch_mask(mean, std, z)
    actual = np.asarray((np.asarray(target) > 0.0).any(axis=1), dtype=np.bool_)
    tp = int((predicted & actual).sum())
    n_pred, n_actual = int(predicted.sum()), int(actual.sum())
    return {
        "shield/precision": tp / n_pred if n_pred else 1.0,
        "shield/recall": tp / n_actual if n_actual else 1.0,
    }


class EnsembleEvaluator:
    """Bootstrap ensemble predicting per-slice costs or margins (see the module docstring)."""

    def __init__(self, n_obs: int, n_act: int, n_slices: int, config: EnsembleConfig | None = None) -> None:
        """Build ``config.members`` untrained MLPs ``n_obs + n_act -> n_slices``."""
        torch.set_num_threads(1)
        self.config = config or EnsembleConfig()
        self.n_obs, self.n_act, self.n_slices = n_obs, n_act, n_slices
        n_in = n_obs + n_act * (2 if self.config.log_action else 1)
        if self.config.per_slice:
            n_res = n_act // n_slices
            if n_obs != n_slices * N_SLICE_FEATURES + N_TIME_FEATURES or n_act != n_res * n_slices:
                raise ValueError(f"per_slice: needs the encoder's layout, got n_obs={n_obs}, n_act={n_act}")
            n_in = N_SLICE_FEATURES + N_TIME_FEATURES + n_res * (3 if self.config.log_action else 2) + n_slices
        self._n_out = 1 if self.config.per_slice else n_slices
        self._heads = 3 if self.config.expectation else 1  # the target's head, then the probability's and cost's
        self._gen = torch.Generator().manual_seed(self.config.seed)
        self._layers = _layers(n_in, self._n_out * self._heads, self.config.hidden, self.config.members, self._gen)
        self._opt = torch.optim.Adam([p for layer in self._layers for p in layer], lr=self.config.lr)
        self._shift: torch.Tensor | None = None
        self._scale: torch.Tensor | None = None
        # One buffer: the anchor (fit's rows, kept for good) in rows [0, n_anchor), then the ring of online rows.
        self._x = torch.zeros((self.config.buffer_size, n_in), dtype=torch.float32)
        self._y = torch.zeros((self.config.buffer_size, self._n_out), dtype=torch.float32)
        self._n_anchor = self._size = self._pos = 0

    @property
    def n_buffered(self) -> int:
        """Rows in the replay buffer: the anchor (:meth:`fit`'s data) and the ring (:meth:`update`'s)."""
        return self._n_anchor + self._size

    def _inputs(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> torch.Tensor:
        """Network inputs: one row per transition, or (``per_slice``) one per transition and slice."""
        o = np.asarray(obs, dtype=np.float32).reshape(-1, self.n_obs)
        a = np.asarray(action, dtype=np.float32).reshape(-1, self.n_act)
        if o.shape[0] != a.shape[0]:
            raise ValueError(f"obs ({o.shape[0]} rows) and action ({a.shape[0]} rows) must have the same rows")
        if not self.config.per_slice:
            parts = [o, a, np.log(np.maximum(a, 0.0) + LOG_ACTION_EPS)] if self.config.log_action else [o, a]
            return torch.from_numpy(np.concatenate(parts, axis=1))
        n, k = o.shape[0], self.n_slices
        cols = a.reshape(n, -1, k)  # (n, R, K) resource-major
        own = np.swapaxes(cols, 1, 2)  # (n, K, R): each slice's column
        parts = [
            o[:, : k * N_SLICE_FEATURES].reshape(n, k, N_SLICE_FEATURES),
            np.broadcast_to(o[:, None, k * N_SLICE_FEATURES :], (n, k, N_TIME_FEATURES)),
            own,
            *([np.log(np.maximum(own, 0.0) + LOG_ACTION_EPS)] if self.config.log_action else []),
            np.broadcast_to(cols.sum(axis=2)[:, None, :], (n, k, cols.shape[1])),  # each resource's total
            np.broadcast_to(np.eye(k, dtype=np.float32), (n, k, k)),
        ]
        return torch.from_numpy(np.concatenate(parts, axis=2).reshape(n * k, -1))

    def _targets(self, target: NDArray[np.floating], rows: int) -> torch.Tensor:
        c = np.clip(np.asarray(target, dtype=np.float32), self.config.target_low, self.config.target_high)
        n = rows // self.n_slices if self.config.per_slice else rows
        if c.shape != (n, self.n_slices):
            raise ValueError(f"cost: expected ({n}, {self.n_slices}), got {c.shape}")
        return torch.from_numpy(c.reshape(rows, self._n_out))

    def _normalised(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` in the fixed normalisation (set from ``x`` itself when none is set yet)."""
        if not self.config.normalise:
            return x
        if self._shift is None or self._scale is None:
            self._shift = x.mean(dim=0)
            self._scale = (
                x.std(dim=0, correction=0).clamp_min(MIN_INPUT_STD) if x.shape[0] > 1 else torch.ones_like(self._shift)
            )
        return (x - self._shift) / self._scale

    def _append(self, x: torch.Tensor, y: torch.Tensor) -> None:
        keep = self.config.buffer_size
        x, y = x[-keep:], y[-keep:]
        idx = self._n_anchor + (self._pos + torch.arange(x.shape[0])) % keep
        self._x[idx], self._y[idx] = x, y
        self._pos = (self._pos + x.shape[0]) % keep
        self._size = min(keep, self._size + x.shape[0])

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(members, B, K)`` predictions for normalised inputs ``(members, B, in)`` or ``(B, in)``."""
        h = x.expand(self.config.members, *x.shape) if x.dim() == 2 else x
        for i, (w, b) in enumerate(self._layers):
            h = torch.baddbmm(b, h, w)
            if i < len(self._layers) - 1:
                h = torch.relu(h)
        return h

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One Adam step on every member's minibatch ``x (members, B, in)``, ``y (members, B, K)``; the loss.

        The loss returned is the target head's; with ``expectation`` the two other heads' losses join the sum
        that is minimised.
        """
        out = self._forward(x)
        k = self._n_out
        u = y - out[..., :k]
        tau = self.config.quantile
        per_row = u**2 if tau is None else torch.maximum(tau * u, (tau - 1.0) * u)
        loss = per_row.mean(dim=(1, 2)).sum()
        target_loss = float(loss.detach())
        if self.config.expectation:
            violated = (y > 0.0).to(y.dtype)
            bce = torch.nn.functional.binary_cross_entropy_with_logits(out[..., k : 2 * k], violated, reduction="none")
            mse = (out[..., 2 * k :] - y.clamp(0.0, 1.0)) ** 2
            loss = loss + bce.mean(dim=(1, 2)).sum() + mse.mean(dim=(1, 2)).sum()
        self._opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self._opt.step()
        return target_loss / self.config.members

    def _heads_out(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> FloatArray:
        """``(heads, members, n, K)``: every head's prediction for the transitions (one forward pass)."""
        x = self._inputs(obs, action)
        if self._shift is not None and self._scale is not None:
            x = (x - self._shift) / self._scale
        with torch.no_grad():
            out = self._forward(x).double().numpy()  # (members, rows, n_out * heads)
        m, k = self.config.members, self.n_slices
        rows = out.reshape(m, -1, self._heads, self._n_out)  # per_slice: rows are (transition, slice) pairs
        return np.moveaxis(rows, 2, 0).reshape(self._heads, m, -1, k)

    def predict(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> tuple[FloatArray, FloatArray]:
        """``(mean - tolerance, std)`` ``(n, K)`` over the members (see the module table)."""
        if not self.config.expectation:  # the original path, kept bit for bit
            x = self._inputs(obs, action)
            if self._shift is not None and self._scale is not None:
                x = (x - self._shift) / self._scale
            with torch.no_grad():
                preds = self._forward(x).double().numpy().reshape(self.config.members, -1, self.n_slices)
            return preds.mean(axis=0) - self.config.tolerance, preds.std(axis=0)
        return self.predict_all(obs, action)[:2]

    def predict_all(
        self, obs: NDArray[np.floating], action: NDArray[np.floating]
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """``(mean - tolerance, std, p, cost)`` ``(n, K)``, the last two the members' mean of :meth:`expected`.

        Raises:
            ValueError: the evaluator has no ``expectation`` heads.
        """
        if not self.config.expectation:
            raise ValueError("predict_all: the evaluator was built without expectation=True")
        target, logit, cost = self._heads_out(obs, action)
        p = 1.0 / (1.0 + np.exp(-logit))
        expected = np.clip(cost.mean(axis=0), 0.0, 1.0)  # a regression head may stray outside the cost's range
        return target.mean(axis=0) - self.config.tolerance, target.std(axis=0), p.mean(axis=0), expected

    def expected(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> tuple[FloatArray, FloatArray]:
        """``(p, cost)`` ``(n, K)``: the predicted probability of a violation and the expected clipped cost.

        Raises:
            ValueError: the evaluator has no ``expectation`` heads.
        """
        return self.predict_all(obs, action)[2:]

    def fit(
        self, obs: NDArray[np.floating], action: NDArray[np.floating], target: NDArray[np.floating], epochs: int
    ) -> float:
        """Train every member ``epochs`` epochs on its own bootstrap of the transitions (offline); the last loss."""
        x = self._inputs(obs, action)
        y = self._targets(target, x.shape[0])
        a = self._n_anchor
        self._x = torch.cat([self._x[:a], x, self._x[a:]])
        self._y = torch.cat([self._y[:a], y, self._y[a:]])
        self._n_anchor += x.shape[0]
        x = self._normalised(x)
        n, bs, m = x.shape[0], self.config.batch_size, self.config.members
        loss = 0.0
        if n == 0:
            return loss
        boot = torch.randint(0, n, (m, n), generator=self._gen)
        for _ in range(epochs):
            order = torch.gather(boot, 1, torch.argsort(torch.rand(m, n, generator=self._gen), dim=1))
            for start in range(0, n, bs):
                idx = order[:, start : start + bs]
                loss = self._step(x[idx], y[idx])
        return loss

    def update(self, obs: NDArray[np.floating], action: NDArray[np.floating], target: NDArray[np.floating]) -> float:
        """Learn online from transitions just played (see the module table); the mean minibatch loss."""
        x = self._inputs(obs, action)
        self._normalised(x)  # sets the normalisation on the first data
        self._append(x, self._targets(target, x.shape[0]))
        n, m = self.n_buffered, self.config.members
        losses = []
        for _ in range(self.config.update_steps):
            idx = torch.randint(0, n, (m, min(n, self.config.batch_size)), generator=self._gen)
            losses.append(self._step(self._normalised(self._x[idx]), self._y[idx]))
        return float(np.mean(losses)) if losses else 0.0

    def precision_recall(
        self, obs: NDArray[np.floating], action: NDArray[np.floating], target: NDArray[np.floating], z: float
    ) -> dict[str, float]:
        """``shield/precision`` and ``shield/recall`` on labelled transitions (module table)."""
        mean, std = self.predict(obs, action)
        return classification_metrics(mean, std, target, z)

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimiser, normalisation, buffer, generator."""
        return {
            "layers": [(w.detach().clone(), b.detach().clone()) for w, b in self._layers],
            "optimizer": self._opt.state_dict(),
            "shift": self._shift, "scale": self._scale,
            "x": self._x[: self.n_buffered].clone(), "y": self._y[: self.n_buffered].clone(),
            "n_anchor": self._n_anchor, "pos": self._pos, "gen": self._gen.get_state(),
        }  # fmt: skip

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` (same shapes and config)."""
        with torch.no_grad():
            for (w, b), (sw, sb) in zip(self._layers, state["layers"], strict=True):
                w.copy_(sw)
                b.copy_(sb)
        self._opt.load_state_dict(state["optimizer"])
        self._shift, self._scale = state["shift"], state["scale"]
        self._n_anchor, self._pos = int(state["n_anchor"]), int(state["pos"])
        rows = int(state["x"].shape[0])
        self._size = rows - self._n_anchor
        self._x = torch.zeros((self._n_anchor + self.config.buffer_size, self._x.shape[1]), dtype=torch.float32)
        self._y = torch.zeros((self._n_anchor + self.config.buffer_size, self._y.shape[1]), dtype=torch.float32)
        self._x[:rows], self._y[:rows] = state["x"], state["y"]
        self._gen.set_state(state["gen"])
