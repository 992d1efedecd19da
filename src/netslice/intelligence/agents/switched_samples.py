"""How a slot the training shield switched to the baseline enters PPO's learning (``SafetyConfig.switched_samples``).

A switched slot played the baseline's action, not the agent's, so what the env reports (the usage and SLA cost of
the slot as played) says nothing of the agent's own action. :func:`judge` returns, per slot, what the agent's
sample is judged by in learning, in one form for every mode:

=============  =================================================================================================
mode           a switched slot's sample
=============  =================================================================================================
``keep``       stays in the policy loss; earns the usage of the slot as played (the baseline's); judged, in the
               penalty and the constraints, by the shield's switch statistic of its own action clipped to [0, 1]
               (:meth:`~.shield.TrainingShield.judged_cost`): counted as a violation wherever it was switched.
               Being switched thus costs the agent the baseline's usage and a violation: it learns to stay
               inside the shield's safe set, which is more conservative than the constraint.
``exclude``    left out of the policy loss (the critics still learn from the slot as played)
``corrected``  stays in the policy loss, judged as if it had been played: it earns the usage reward its own
               action would have earned (:func:`usage_reward_change`: exact, the usage is linear in the allocation
               in force) and its cost is the evaluator's expectation for its own action: the probability of a
               violation (counted in the multipliers' violation rate and the indicator) and the expected clipped
               cost (``expectation`` heads of :class:`~.evaluator.EnsembleEvaluator`). The agent then learns the
               unshielded constrained problem, in expectation, while the shield keeps the played slots safe
=============  =================================================================================================

Slots that were not switched are judged as played in every mode: ``violation = 1[cost > 0]``, ``cost`` as
reported, no reward change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.envs.features import to_allocation
from netslice.intelligence.envs.options import clip_action
from netslice.network.kernel import slice_usage

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: The modes, in :class:`~.safety_config.SafetyConfig`'s order (its ``switched_samples`` field).
MODES = ("keep", "exclude", "corrected", "own-usage", "estimated")


@dataclass(frozen=True)
class Judged:
    """What one slot's samples are judged by in learning (see the module table).

    Attributes:
        violation: ``(n, K)`` in [0, 1]: ``1[cost > 0]`` as played, or the probability a switched action violates.
        cost: ``(n, K)`` clipped SLA cost as played, or the cost a switched action is judged by.
        reward_change: ``(n,)`` added to the env's reward (the agent's own action's usage reward minus the played
            one's on ``corrected`` switched slots; 0 elsewhere); None: no change.
        in_loss: ``(n,)`` which samples enter the policy loss; None: all.
    """

    violation: FloatArray
    cost: FloatArray
    reward_change: FloatArray | None = None
    in_loss: BoolArray | None = None


def judge(
    mode: str, shield: TrainingShield, envs: Any, cost: NDArray[np.floating], switched: BoolArray,
    own: NDArray[np.floating], played: NDArray[np.floating],
) -> Judged:  # fmt: skip
    """How the slot just played enters learning, after ``shield.filter`` gave ``played`` for the agent's ``own``.

    Args:
        mode: one of :data:`MODES`.
        shield: the shield whose last :meth:`~.shield.TrainingShield.filter` call switched ``switched``.
        envs: the training envs the slot was played in (for the usage of ``own``; see :func:`usage_reward_change`).
        cost: ``(n, K)`` the slot's clipped SLA cost as played.
        switched: ``(n,)`` the envs that played the baseline.
        own: ``(n, n_act)`` the agent's actions (shares).
        played: ``(n, n_act)`` the actions enforced.

    Raises:
        ValueError: an unknown mode, or ``corrected`` with a shield built without ``expectation``.
    """
    c = np.asarray(cost, dtype=np.float64)
    sw = np.asarray(switched, dtype=bool)
    if mode in ("keep", "own-usage"):
        judged = shield.judged_cost(c, sw)
        change = None
        if mode == "own-usage":
            change = np.zeros(sw.size)
            if sw.any():
                change[sw] = usage_reward_change(envs, np.asarray(own)[sw], np.asarray(played)[sw], sw)
        return Judged((judged > 0.0).astype(np.float64), judged, change)
    as_played = (c > 0.0).astype(np.float64)
    if mode == "exclude":
        return Judged(as_played, c, in_loss=~sw)
    if mode not in ("corrected", "estimated"):
        raise ValueError(f"switched_samples: must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if shield.last_expected is None:
        raise ValueError("switched_samples='corrected': the shield must be built with expectation=True")
    if not sw.any():
        return Judged(as_played, c, np.zeros(sw.size))
    p, expected = shield.last_expected
    if mode == "estimated":  # the switch statistic as the cost (direction), the violation probability as the rate
        change = np.zeros(sw.size)
        change[sw] = usage_reward_change(envs, np.asarray(own)[sw], np.asarray(played)[sw], sw)
        return Judged(np.where(sw[:, None], p, as_played), shield.judged_cost(c, sw), change)
    change = np.zeros(sw.size)
    change[sw] = usage_reward_change(envs, np.asarray(own)[sw], np.asarray(played)[sw], sw)
    return Judged(np.where(sw[:, None], p, as_played), np.where(sw[:, None], expected, c), change)


def usage_reward_change(
    envs: Any, actions: NDArray[np.floating], instead: NDArray[np.floating], rows: BoolArray | None = None
) -> FloatArray:
    """How much more usage reward ``actions`` would have earned than ``instead`` in the same slot, per env.

    Both go through the env's action path (clipped to the box, capacity enforcement by the orchestrator's
    :meth:`~netslice.orchestration.orchestrator.Orchestrator.prepare`, which changes nothing). The kernel's
    allocation in force is ``phi * previous + (1 - phi) * new`` (``enforce_fraction`` per resource) and the
    usage is linear in it, so the change is exact whatever the previous allocation, as long as no domain manager
    faults.

    Args:
        envs: the vector env (a :class:`~netslice.intelligence.envs.vector.SliceVectorEnv`: its ``orch``,
            ``encoder``, ``num_envs`` and ``n_slices``).
        actions: ``(m, n_act)`` flat actions.
        instead: ``(m, n_act)`` the actions played.
        rows: ``(n_envs,)`` which of the envs the ``m`` rows are (default: all, ``m == n_envs``).

    Returns:
        ``(m,)`` reward of ``actions`` minus reward of ``instead``.
    """
    orch = envs.orch
    n, k = envs.num_envs, envs.n_slices
    mask = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)

    def enforced(a: NDArray[np.floating]) -> FloatArray:
        full = np.zeros((n, np.asarray(a).shape[1]))
        full[mask] = a
        alloc, _ = clip_action(to_allocation(full, n, k).reshape(n, -1))
        out: FloatArray = orch.prepare(alloc.reshape(n, -1, k)).enforced[mask]
        return out

    params = orch.scenario.params
    delta = (1.0 - params.enforce_fraction)[:, None] * (enforced(actions) - enforced(instead))
    out: FloatArray = envs.encoder.reward(slice_usage(params, delta).sum(axis=-1))
    return out
