"""Lagrange multipliers of the per-slice SLA constraints (primal-dual safe RL): dual ascent and PID.

The constrained problem, as in the paper: maximise the return subject to, for every slice k,
``J_C[k] <= d``, where ``J_C[k]`` is the expected SLA violation rate of slice k, estimated as the fraction of
the slots of a rollout in which slice k violated its SLA (cost > 0; :func:`violation_rate`) and ``d`` is the
violation limit (e.g. 0.01). One multiplier ``lambda[k] >= 0`` per slice constraint. The policy is trained on
the Lagrangian's advantage (:func:`lagrangian_advantage`, from a reward critic and a per-slice cost critic);
this module updates the multipliers.

Time scale: :meth:`Multipliers.observe` takes the ``J_C`` of one policy update. Every ``every``-th call, the
multipliers step once on the mean ``J_C`` of the updates observed since the last step (the window), and the
window empties; in between, ``lambda`` does not change. ``every > 1`` puts the multipliers on a slower time
scale than the policy.

Update rules, with ``J_C`` the window mean and ``e = J_C - d`` per slice:

- :class:`DualAscent`, projected sub-gradient ascent on the dual: ``lambda <- max(0, lambda + eta * e)``.
  A plain step, not Adam: the step is proportional to the size of the violation.
- :class:`PIDLagrangian` (Stooke, Achiam & Abbeel, "Responsive Safety in Reinforcement Learning by PID
  Lagrangian Methods", ICML 2020): integral ``I <- max(0, I + e)`` (projected at 0: no wind-up below 0);
  smoothed cost ``J_s <- ema * J_s + (1 - ema) * J_C`` (``J_s = J_C`` at the first step; ``ema = 0``: no
  smoothing); derivative ``D = max(0, J_s - J_s_prev)`` (0 at the first step: only rises count);
  ``lambda = max(0, K_P * (J_s - d) + K_I * I + K_D * D)``. The proportional and derivative terms react to
  the overshoot and damp the oscillation of plain dual ascent; with ``K_P = K_D = 0`` and ``K_I = eta``, PID
  is dual ascent started at 0.

Metrics (:meth:`Multipliers.metrics`, added to PPO's update rows; documented here once):

- ``safety/lambda/<slice>``: the multiplier in force.
- ``safety/cost/<slice>``: the estimate of ``J_C``: the mean over the current window, or, when it is empty,
  the window of the last step (absent before the first update).
- ``safety/margin/<slice>``: ``d - safety/cost`` (>= 0: the constraint holds).
- PID only, ``safety/integral/<slice>``: the integral ``I``.

Both classes save and restore their state as plain data (:meth:`Multipliers.state`, :func:`from_state`) for
checkpoints. Nothing here is random.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from netslice.errors import ConfigError
from netslice.intelligence.agents.safety_config import check_range

FloatArray = NDArray[np.float64]


def violation_rate(cost: ArrayLike) -> FloatArray:
    """``J_C`` per slice: the fraction of slots with cost > 0, over every leading axis of ``cost`` (..., K)."""
    c = np.asarray(cost, dtype=np.float64)
    return np.asarray((c > 0.0).reshape(-1, c.shape[-1]).mean(axis=0), dtype=np.float64)


def constraint_signal(cost: ArrayLike, kind: str = "graded") -> FloatArray:
    """The per-slice constraint signal of slots with clipped SLA ``cost``: ``1[cost > 0]``, plus ``cost`` if graded.

    The cost critic learns its discounted sum; ``kind`` is ``SafetyConfig.cost_signal`` (``"indicator"`` or
    ``"graded"``).

    >>> constraint_signal([[0.0, 0.25]]).tolist(), constraint_signal([[0.0, 0.25]], "indicator").tolist()
    ([[0.0, 1.25]], [[0.0, 1.0]])
    """
    c = np.asarray(cost, dtype=np.float64)
    violated = (c > 0.0).astype(np.float64)
    return violated + c if kind == "graded" else violated


def expected_signal(violation: ArrayLike, cost: ArrayLike, kind: str = "graded") -> FloatArray:
    """:func:`constraint_signal` from a violation probability and an expected cost: ``violation`` (+ ``cost``).

    With ``violation = 1[cost > 0]`` it is :func:`constraint_signal` of ``cost``; a switched slot's sample judged
    by the evaluator's expectation (``switched_samples="corrected"``) passes the predicted probability instead.

    >>> expected_signal([[0.0, 0.5]], [[0.0, 0.25]]).tolist(), expected_signal([[0.5]], [[0.25]], "indicator").tolist()
    ([[0.0, 0.75]], [[0.5]])
    """
    v = np.asarray(violation, dtype=np.float64)
    return v + np.asarray(cost, dtype=np.float64) if kind == "graded" else v


def lagrangian_advantage(adv: ArrayLike, cost_adv: ArrayLike, lam: ArrayLike, normalise: bool = True) -> FloatArray:
    """The policy's advantage on the Lagrangian: ``(Â_R - sum_k lambda[k] Â_C[k]) / (1 + sum_k lambda[k])``.

    ``Â_R`` is the reward advantage standardised over the rollout (zero mean, unit deviation) and ``Â_C[k]`` the
    advantage of constraint k centred over the rollout (zero mean, its own scale: a violation counts as much
    whatever the reward's spread). The division (``normalise``; Stooke et al. 2020) keeps the advantage's scale,
    and so PPO's step, bounded when a multiplier grows large; the result is not standardised again.

    Args:
        adv: the reward advantages, any shape ``S``.
        cost_adv: the constraint advantages, shape ``S + (K,)``.
        lam: the multipliers, shape ``(K,)``.
        normalise: divide by ``1 + sum(lam)``.

    >>> lagrangian_advantage([1.0, -1.0], [[0.5], [-0.5]], [1.0]).round(6).tolist()
    [0.25, -0.25]
    """
    a = np.asarray(adv, dtype=np.float64)
    a_c = np.asarray(cost_adv, dtype=np.float64)
    lam_a = np.asarray(lam, dtype=np.float64)
    a_r = (a - a.mean()) / (a.std() + 1e-8)
    centred = a_c - a_c.reshape(-1, a_c.shape[-1]).mean(axis=0)
    out = a_r - centred @ lam_a
    return np.asarray(out / (1.0 + lam_a.sum()) if normalise else out, dtype=np.float64)


class Multipliers:
    """One Lagrange multiplier per slice constraint, stepped every ``every`` observed updates (see the module).

    Args:
        slice_names: the constrained slices, in the order of ``J_C``'s entries.
        d: the violation limit, in [0, 1].
        every: policy updates per multiplier step (at least 1).

    Raises:
        ConfigError: a value out of range (the message names the field and the rule).
    """

    kind = ""

    def __init__(self, slice_names: Sequence[str], d: float, every: int = 1) -> None:
        if not slice_names:
            raise ConfigError("slice_names: at least one slice is needed")
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise ConfigError(f"every: must be an integer of at least 1, got {every!r}")
        self.slice_names = tuple(slice_names)
        self.d = check_range("d", d, 0.0, 1.0)
        self.every = int(every)
        k = len(self.slice_names)
        self.lam: FloatArray = np.zeros(k)
        self.window: list[FloatArray] = []
        self.last: FloatArray | None = None  # the J_C of the last step
        self.steps = 0

    def start(self, lam0: float) -> None:
        """Start every multiplier at ``lam0`` (at least 0) instead of 0, before the first step."""
        self.lam = np.full(len(self.slice_names), check_range("lambda_init", lam0, 0.0))

    def observe(self, j_c: ArrayLike) -> bool:
        """Add one update's ``J_C`` (shape (K,)); step the multipliers when the window is full. Return whether it did.

        Raises:
            ValueError: ``j_c`` does not have one finite value per slice.
        """
        jc = np.asarray(j_c, dtype=np.float64)
        if jc.shape != (len(self.slice_names),) or not np.isfinite(jc).all():
            raise ValueError(f"J_C: must be {len(self.slice_names)} finite values (one per slice), got {j_c!r}")
        self.window.append(jc)
        if len(self.window) < self.every:
            return False
        self.last = np.mean(self.window, axis=0)
        self.window = []
        self._step(self.last)
        self.steps += 1
        return True

    def _step(self, j_c: FloatArray) -> None:
        raise NotImplementedError

    def metrics(self) -> dict[str, float]:
        """``safety/lambda``, ``safety/cost`` and ``safety/margin`` per slice (see the module docstring)."""
        jc = np.mean(self.window, axis=0) if self.window else self.last
        out = {f"safety/lambda/{s}": float(v) for s, v in zip(self.slice_names, self.lam, strict=True)}
        if jc is not None:
            out |= {f"safety/cost/{s}": float(v) for s, v in zip(self.slice_names, jc, strict=True)}
            out |= {f"safety/margin/{s}": self.d - float(v) for s, v in zip(self.slice_names, jc, strict=True)}
        return out

    def state(self) -> dict[str, Any]:
        """The configuration and state as plain data (lists and floats): what :func:`from_state` takes."""
        return {
            "kind": self.kind, "slice_names": list(self.slice_names), "config": self._config(),
            "lam": self.lam.tolist(), "window": [w.tolist() for w in self.window],
            "last": None if self.last is None else self.last.tolist(), "steps": self.steps,
        }  # fmt: skip

    def _config(self) -> dict[str, Any]:
        return {"d": self.d, "every": self.every}

    def _load(self, state: dict[str, Any]) -> None:
        self.lam = np.asarray(state["lam"], dtype=np.float64)
        self.window = [np.asarray(w, dtype=np.float64) for w in state["window"]]
        self.last = None if state["last"] is None else np.asarray(state["last"], dtype=np.float64)
        self.steps = int(state["steps"])


class DualAscent(Multipliers):
    """Projected sub-gradient dual ascent: ``lambda <- max(0, lambda + eta * (J_C - d))`` (see the module).

    Args:
        slice_names: the constrained slices.
        d: the violation limit, in [0, 1].
        eta: the multipliers' step size (at least 0).
        every: policy updates per multiplier step (at least 1).

    Raises:
        ConfigError: a value out of range (the message names the field and the rule).
    """

    kind = "lagrangian"

    def __init__(self, slice_names: Sequence[str], d: float, eta: float, every: int = 1) -> None:
        super().__init__(slice_names, d, every)
        self.eta = check_range("eta", eta, 0.0)

    def _step(self, j_c: FloatArray) -> None:
        self.lam = np.maximum(0.0, self.lam + self.eta * (j_c - self.d))

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "eta": self.eta}


class PIDLagrangian(Multipliers):
    """PID Lagrangian multipliers (Stooke, Achiam & Abbeel 2020; the rule is in the module docstring).

    Args:
        slice_names: the constrained slices.
        d: the violation limit, in [0, 1].
        kp: K_P, the proportional gain (at least 0).
        ki: K_I, the integral gain (at least 0).
        kd: K_D, the derivative gain (at least 0).
        every: policy updates per multiplier step (at least 1).
        ema: smoothing of ``J_C`` for the proportional and derivative terms, in [0, 1) (0: none).

    Raises:
        ConfigError: a value out of range (the message names the field and the rule).
    """

    kind = "pid"

    def __init__(
        self, slice_names: Sequence[str], d: float, kp: float, ki: float, kd: float, every: int = 1, ema: float = 0.0
    ) -> None:
        super().__init__(slice_names, d, every)
        self.kp, self.ki, self.kd = check_range("kp", kp, 0.0), check_range("ki", ki, 0.0), check_range("kd", kd, 0.0)
        self.ema = check_range("ema", ema, 0.0, 1.0, high_open=True)
        k = len(self.slice_names)
        self.integral: FloatArray = np.zeros(k)
        self.smoothed: FloatArray | None = None  # J_s

    def start(self, lam0: float) -> None:
        """Start at ``lam0``: the integral holds it (``lam0 / K_I``), so that it decays only as the violations do."""
        super().start(lam0)
        if self.ki > 0.0:
            self.integral = self.lam / self.ki

    def _next(self, j_c: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The integral, smoothed ``J_C`` and derivative after a step on ``j_c`` (the state is not changed)."""
        integral = np.maximum(0.0, self.integral + (j_c - self.d))
        smoothed = j_c if self.smoothed is None else self.ema * self.smoothed + (1.0 - self.ema) * j_c
        deriv = np.zeros_like(j_c) if self.smoothed is None else np.maximum(0.0, smoothed - self.smoothed)
        return integral, smoothed, deriv

    def _gains(self, integral: FloatArray, smoothed: FloatArray, deriv: FloatArray) -> tuple[FloatArray, ...]:
        return self.kp * (smoothed - self.d), self.ki * integral, self.kd * deriv

    def terms(self, j_c: ArrayLike) -> tuple[FloatArray, ...]:
        """The P, I and D terms (gains applied) a step on ``j_c`` would give, without taking it."""
        return self._gains(*self._next(np.asarray(j_c, dtype=np.float64)))

    def _step(self, j_c: FloatArray) -> None:
        integral, smoothed, deriv = self._next(j_c)
        p, i, d = self._gains(integral, smoothed, deriv)
        self.integral, self.smoothed = integral, smoothed
        self.lam = np.maximum(0.0, p + i + d)

    def metrics(self) -> dict[str, float]:
        """The common metrics and ``safety/integral/<slice>``."""
        return super().metrics() | {
            f"safety/integral/{s}": float(v) for s, v in zip(self.slice_names, self.integral, strict=True)
        }

    def state(self) -> dict[str, Any]:  # noqa: D102 (the base class's, with the PID's memory)
        return super().state() | {
            "integral": self.integral.tolist(), "smoothed": None if self.smoothed is None else self.smoothed.tolist()
        }  # fmt: skip

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "kp": self.kp, "ki": self.ki, "kd": self.kd, "ema": self.ema}

    def _load(self, state: dict[str, Any]) -> None:
        super()._load(state)
        self.integral = np.asarray(state["integral"], dtype=np.float64)
        self.smoothed = None if state["smoothed"] is None else np.asarray(state["smoothed"], dtype=np.float64)


KINDS: dict[str, type[Multipliers]] = {"lagrangian": DualAscent, "pid": PIDLagrangian}


def from_state(state: dict[str, Any]) -> Multipliers:
    """The multipliers :meth:`Multipliers.state` describes (configuration and state).

    Raises:
        ConfigError: an unknown ``kind`` (named), or a configuration value out of range.
    """
    kind = state.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"kind: must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    out = KINDS[kind](state["slice_names"], **state["config"])
    out._load(state)
    return out
