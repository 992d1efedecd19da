"""Baseline switching: a policy combinator that enforces the baseline when the agent's action is predicted to violate.

:class:`SwitchingPolicy` composes three parts (issue 12, item 3):

* ``agent``: any :class:`~netslice.intelligence.policies.base.Policy` (a trained agent, a baseline);
* ``baseline``: a :class:`~.base.Policy` trusted to keep the SLAs (the rule-based policy: 0 % violations
  on testbed-v0);
* ``evaluator``: an :class:`Evaluator` that predicts, for each env, the clipped SLA cost ``c(s, a)`` of
  each slice (a margin, not a yes/no) with an uncertainty: ``predict(obs, action) -> (mean, std)``.

Contract:

=========================  ==========================================================================
``act(obs)``               flat observations ``(n_envs, n_features)`` -> flat actions ``(n_envs, 7 K)``
                           (the :class:`~.base.Policy` protocol); row ``i`` is the baseline's row where
                           ``switched[i]``, the agent's row otherwise (bit for bit)
switch rule                env ``i`` switches iff ``any_k mean[i, k] - confidence_z * std[i, k] > 0``:
                           a violation is predicted with high confidence; exactly 0 does not switch
``last_switched``          ``(n_envs,)`` bool mask of the last ``act`` (``None`` before the first)
``observe(cost)``          hands the cost ``(n_envs, K)`` of the slot just played to the evaluator's
                           ``update(obs, action, cost)`` with the last observation and the action
                           actually enforced (no-op when the evaluator does not learn, or
                           without ``learn_online``)
``reset()``                resets agent and baseline (:func:`~.base.reset_policy`); counters persist
``metrics()``              the table below; ``reset_counters()`` zeroes them
=========================  ==========================================================================

The agent and the baseline are both asked every slot (the baseline's action must be ready when the switch
fires); the evaluator is asked about the agent's action only. Neither the orchestrator nor the envs know
about the switch: it sits entirely in the intelligence layer.

Metrics (each documented once, here; keys of :meth:`SwitchingPolicy.metrics`):

======================  ===============================================================================
``shield/switch_rate``  cumulative fraction of (env, slot) decisions on which the baseline was enforced
``shield/switches``     cumulative number of (env, slot) decisions switched to the baseline
``shield/decisions``    cumulative number of (env, slot) decisions taken
======================  ===============================================================================

The evaluator's quality metrics (``shield/precision``, ``shield/recall``) are produced by
:mod:`netslice.intelligence.agents.evaluator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.policies.base import FloatArray, Policy, bind_policy, reset_policy
from netslice.orchestration.orchestrator import Orchestrator

BoolArray = NDArray[np.bool_]


@runtime_checkable
class Evaluator(Protocol):
    """Predicts each slice's clipped SLA cost of an action, with an uncertainty.

    ``update`` is optional (a learning evaluator defines it; :meth:`SwitchingPolicy.observe` calls it when
    present).
    """

    def predict(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> tuple[FloatArray, FloatArray]:
        """Mean and standard deviation ``(n_envs, K)`` of the cost of ``action`` ``(n_envs, 7 K)`` in ``obs``."""
        ...


def switch_mask(
    mean: NDArray[np.floating], std: NDArray[np.floating], confidence_z: float,
    floor: NDArray[np.floating] | None = None,
) -> BoolArray:  # fmt: skip
    """``(n_envs,)``: True where some slice's ``mean - confidence_z * std > floor`` (strictly; ``floor`` 0 if None).

    ``floor`` ``(n_envs, K)``: the relative rule's threshold (:func:`baseline_floor`).

    Raises:
        ValueError: ``mean`` and ``std`` are not both ``(n_envs, K)`` of the same shape.
    """
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(std, dtype=np.float64)
    if m.ndim != 2 or m.shape != s.shape:
        raise ValueError(f"evaluator: mean {m.shape} and std {s.shape} must both be (n_envs, K)")
    threshold = 0.0 if floor is None else np.asarray(floor, dtype=np.float64)
    return np.asarray((m - confidence_z * s > threshold).any(axis=1), dtype=np.bool_)


def baseline_floor(
    evaluator: Evaluator, obs: NDArray[np.floating], baseline: NDArray[np.floating], confidence_z: float,
    live: NDArray[np.bool_] | None = None,
) -> FloatArray:  # fmt: skip
    """The relative switch rule's threshold ``(n_envs, K)``: the baseline's own statistic, floored at 0.

    That is ``max(0, mean - confidence_z * std)`` of the baseline's action ``baseline`` in ``obs`` (0 for a slice
    not ``live``).

    Switching helps only where the baseline is predicted safer than the agent: with this floor a slice switches
    its network only if the agent's action is predicted to violate it *and* to do worse than the baseline's. Where
    the baseline is predicted safe (its statistic <= 0) the rule is the absolute one; where the evaluator wrongly
    predicts the baseline's own action to violate (measured on metro-v0, whose rule-based allocations leave eMBB
    7 % of margin: after pretraining the absolute rule switched 100 % of the baseline's own held-out actions), an
    action predicted no worse than the baseline's is let through instead of being replaced by the baseline.
    """
    m, s = only_live(*evaluator.predict(obs, baseline), live)
    out: FloatArray = np.maximum(m - confidence_z * s, 0.0)
    return out


def only_live(
    mean: NDArray[np.floating], std: NDArray[np.floating], live: NDArray[np.bool_] | None
) -> tuple[FloatArray, FloatArray]:
    """``(mean, std)`` with -inf and 0 where the slice is not ``live`` ``(n_envs, K)`` (None: all are).

    A slot without a slice in the coming slot has no SLA to violate: its prediction can neither switch nor judge.
    """
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if live is None:
        return m, s
    alive = np.asarray(live, dtype=bool)
    return np.where(alive, m, -np.inf), np.where(alive, s, 0.0)


@dataclass
class SwitchingPolicy:
    """Agent, baseline and evaluator behind one :class:`~.base.Policy` (see the module docstring).

    Attributes:
        agent: the policy whose actions are checked.
        baseline: the policy enforced where the agent's action is predicted to violate.
        evaluator: predicts ``(mean, std)`` of each slice's cost.
        confidence_z: how many standard deviations the predicted cost must clear 0 by to switch
            (0: switch on the mean; larger: switch only on confident predictions).
        name: label for reports.
        learn_online: whether :meth:`observe` teaches the evaluator (off: a frozen evaluator, e.g. the training
            shield's in evaluation).
        relative: the relative switch rule (:func:`baseline_floor`): switch only where the agent's action is also
            predicted to do worse than the baseline's.
    """

    agent: Policy
    baseline: Policy
    evaluator: Evaluator
    confidence_z: float = 1.0
    name: str = "switching"
    learn_online: bool = True
    relative: bool = False
    _switches: int = field(default=0, init=False, repr=False)
    _decisions: int = field(default=0, init=False, repr=False)
    _last_switched: BoolArray | None = field(default=None, init=False, repr=False)
    _last_obs: FloatArray | None = field(default=None, init=False, repr=False)
    _last_action: FloatArray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not np.isfinite(self.confidence_z):
            raise ValueError(f"confidence_z: must be finite, got {self.confidence_z}")

    @property
    def last_switched(self) -> BoolArray | None:
        """``(n_envs,)`` switch mask of the last :meth:`act` (a copy; ``None`` before the first)."""
        return None if self._last_switched is None else self._last_switched.copy()

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """The agent's actions, with the baseline's rows where a violation is predicted confidently."""
        o = np.asarray(obs)
        return self.enforce(o, np.asarray(self.agent.act(o), dtype=np.float64))

    def enforce(
        self, obs: NDArray[np.floating], agent: NDArray[np.floating], live: NDArray[np.bool_] | None = None
    ) -> FloatArray:
        """The switch rule on the agent's actions ``agent`` ``(n_envs, 7 K)`` taken in ``obs`` (what :meth:`act` does).

        ``live`` ``(n_envs, K)``: the slices provisioned in the coming slot (None: all); an empty slot has no SLA
        to violate, so its prediction does not switch (as in the training shield).
        """
        o = np.asarray(obs)
        agent = np.asarray(agent, dtype=np.float64)
        base = np.asarray(self.baseline.act(o), dtype=np.float64)
        if agent.shape != base.shape or agent.ndim != 2 or agent.shape[0] != o.shape[0]:
            raise ValueError(f"agent actions {agent.shape} and baseline actions {base.shape} must be (n_envs, 7 K)")
        mean, std = self.evaluator.predict(o, agent)
        floor = baseline_floor(self.evaluator, o, base, self.confidence_z, live) if self.relative else None
        switched = switch_mask(*only_live(mean, std, live), self.confidence_z, floor)
        if switched.shape != (o.shape[0],):
            raise ValueError(f"evaluator: predictions for {switched.shape[0]} envs, observations for {o.shape[0]}")
        action = np.where(switched[:, None], base, agent)
        self._switches += int(switched.sum())
        self._decisions += int(switched.size)
        self._last_switched = switched
        self._last_obs = np.array(o, dtype=np.float64)
        self._last_action = action.copy()
        return action

    def observe(self, cost: NDArray[np.floating]) -> None:
        """Let the evaluator learn from the slot just played: ``update(last obs, enforced action, cost)``.

        Raises:
            RuntimeError: no action was taken yet.
        """
        if self._last_obs is None or self._last_action is None:
            raise RuntimeError("observe: no action was taken yet")
        update = getattr(self.evaluator, "update", None)
        if self.learn_online and callable(update):
            update(self._last_obs, self._last_action, np.asarray(cost, dtype=np.float64))

    def bind(self, orch: Orchestrator) -> None:
        """Bind the agent and the baseline to the networks played (:func:`~.base.bind_policy`).

        A planning baseline (:class:`~.bound.BoundPolicy`) needs them.
        """
        bind_policy(self.agent, orch)
        bind_policy(self.baseline, orch)

    def reset(self) -> None:
        """Reset the agent and the baseline (the counters persist: they span a whole run)."""
        reset_policy(self.agent)
        reset_policy(self.baseline)
        self._last_switched = self._last_obs = self._last_action = None

    def reset_counters(self) -> None:
        """Zero the ``shield/*`` counters."""
        self._switches = self._decisions = 0

    def metrics(self) -> dict[str, float]:
        """The ``shield/*`` metrics of the module table (rate 0 before any decision)."""
        rate = self._switches / self._decisions if self._decisions else 0.0
        return {
            "shield/switch_rate": float(rate),
            "shield/switches": float(self._switches),
            "shield/decisions": float(self._decisions),
        }
