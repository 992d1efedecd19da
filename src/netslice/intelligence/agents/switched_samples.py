"""How a slot the training shield switched to the baseline enters PPO's learning (``SafetyConfig.switched_samples``).

A switched slot played the baseline's action, not the agent's, so what the env reports (the usage and SLA cost of
the slot as played) says nothing of the agent's own action. :func:`judge` returns, per slot, what the agent's
sample is judged by in learning, in one form for every mode:

===============  ===============================================================================================
mode             a switched slot's sample
===============  ===============================================================================================
``keep``         stays in the policy loss; earns the usage of the slot as played (the baseline's); judged, in the
                 penalty and the constraints, by the shield's switch statistic of its own action clipped to
                 [0, 1] (:meth:`~.shield.TrainingShield.judged_cost`): counted as a violation wherever it was
                 switched. Being switched costs the agent the baseline's usage and a violation, so it learns
                 inside the shield's safe set. The default: the only mode measured to learn a policy that is
                 safe on its own
``exclude``      left out of the policy loss (the critics still learn from the slot as played)
``own-usage``    as ``keep``, but it earns the usage reward its own action would have earned
                 (:func:`usage_reward_change`: exact, as the usage is linear in the allocation in force)
``corrected``    judged as if it had been played: its own usage reward, and the evaluator's expectation for its
                 own action as its cost: the probability of a violation (the violation rate and the indicator)
                 and the expected clipped cost (``expectation`` heads of :class:`~.evaluator.EnsembleEvaluator`)
``estimated``    its own usage reward, the switch statistic as its cost (as ``keep``), and the predicted
                 probability of a violation as its violation (in the multipliers' rate)
``keep-played``  as ``keep`` in the loss, but the multipliers step on the violations as played (a switched
                 slot, played by the baseline, rarely violates), so switching does not wind them up
===============  ===============================================================================================

Measured (testbed-v0, PID d = 1 %, shield quantile 0.99, 6M steps, seeds 0-1; ``benchmarks/safe_ppo.py``, the
``pid-d1-switching*`` rows): ``keep`` ends at usage 0.174-0.175 with 0.10-0.16 % violations, ``own-usage`` at
0.171-0.176 (0.21-0.31 %): no gain. ``corrected`` and ``estimated`` remove the price of being switched; the agent
then drifts into the switched region (``corrected``: 100 % of slots switched; ``estimated``: 65-97 %), where its
actions are never played and so never corrected, and learns to exploit the evaluator there: the final policies
violate in 96 % (``corrected``) and 15-27 % (``estimated``) of slots. ``keep-played`` fails the same way (usage
while learning 0.48-0.61, final policies violating 4-10 %): with the multipliers near 0 the switch statistic no
longer weighs, and inside the switched region the reward is flat (the baseline plays whatever the agent proposes).
Whatever judges a switched action must make being switched cost the agent, or the evaluator's errors become the
agent's optimum. That price is why the agent learns inside the shield's safe set; the shield's quantile
(:class:`~.shield_config.ShieldConfig`) sets how conservative that set is. ``exclude`` (seeds 0-1) stays 62-63 %
switched and learns far less (final usage 0.216-0.221).

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
MODES = ("keep", "exclude", "corrected", "own-usage", "estimated", "keep-played")


@dataclass(frozen=True)
class Judged:
    """What one slot's samples are judged by in learning (see the module table).

    Attributes:
        violation: ``(n, K)`` in [0, 1]: ``1[cost > 0]`` as played, or the probability a switched action violates.
        cost: ``(n, K)`` clipped SLA cost as played, or the cost a switched action is judged by.
        reward_change: ``(n,)`` added to the env's reward (the agent's own action's usage reward minus the played
            one's on ``corrected`` switched slots; 0 elsewhere); None: no change.
        in_loss: ``(n,)`` which samples enter the policy loss; None: all.
        rate: ``(n, K)`` the violation the multipliers' violation rate counts; None: ``violation``.
    """

    violation: FloatArray
    cost: FloatArray
    reward_change: FloatArray | None = None
    in_loss: BoolArray | None = None
    rate: FloatArray | None = None


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
    if mode == "keep-played":
        judged = shield.judged_cost(c, sw)
        return Judged((judged > 0.0).astype(np.float64), judged, rate=(c > 0.0).astype(np.float64))
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
    envs: Any, actions: NDArray[np.floating], instead: NDArray[np.floating], rows: BoolArray | None = None,
    per_slice: bool = False,
) -> FloatArray:  # fmt: skip
    """How much more usage reward ``actions`` would have earned than ``instead`` in the same slot, per env.

    Both go through the env's action path (clipped to the box, capacity enforcement by the orchestrator's
    :meth:`~netslice.orchestration.orchestrator.Orchestrator.prepare`, which changes nothing). The kernel's
    allocation in force is ``phi * previous + (1 - phi) * new`` (``enforce_fraction`` per resource) and the
    usage is linear in it, so the change is exact whatever the previous allocation, as long as no domain manager
    faults.

    Args:
        envs: the vector env (a :class:`~netslice.intelligence.envs.vector.SliceVectorEnv`: its ``orch``,
            ``encoder``, ``num_envs`` and ``n_slices``; or a per-slice agents' env, whose networks are its
            ``n_networks``).
        actions: ``(m, n_act)`` flat actions (networks' allocations, resource-major).
        instead: ``(m, n_act)`` the actions played.
        rows: ``(n_networks,)`` which of the networks the ``m`` rows are (default: all, ``m == n_networks``).
        per_slice: each slice's part of the change (the per-slice agents' reward, :meth:`~.features.Encoder.
            slice_reward`; it sums to the network's).

    Returns:
        ``(m,)`` reward of ``actions`` minus reward of ``instead`` (``(m, K)`` with ``per_slice``).
    """
    orch = envs.orch
    n, k = getattr(envs, "n_networks", envs.num_envs), envs.n_slices
    mask = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)

    def enforced(a: NDArray[np.floating]) -> FloatArray:
        full = np.zeros((n, np.asarray(a).shape[1]))
        full[mask] = a
        alloc, _ = clip_action(to_allocation(full, n, k).reshape(n, -1))
        out: FloatArray = orch.prepare(alloc.reshape(n, -1, k)).enforced[mask]
        return out

    params = orch.scenario.params
    delta = (1.0 - params.enforce_fraction)[:, None] * (enforced(actions) - enforced(instead))
    usage = slice_usage(params, delta)
    out: FloatArray = envs.encoder.slice_reward(usage) if per_slice else envs.encoder.reward(usage.sum(axis=-1))
    return out
