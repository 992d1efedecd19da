"""One PPO rollout: its buffers (:class:`Rollout`) and its advantages (:class:`Advantages`).

A rollout holds ``T = num_steps`` slots of ``n`` networks. With constraints it also holds, per slice ``k``, the
constraint signal ``c[t, i, k] = 1[cost[k] > 0]`` (did slice k violate its SLA in that slot) and the cost critic's
``V_C`` of it, so that :meth:`Rollout.advantages` gives one GAE per slice besides the reward's
(:func:`~.gae.gae` on each column, the same gamma and lambda). A truncated episode bootstraps both the reward and
the constraint signal with the values of its final observation (added by the caller, see :mod:`.gae`).

``in_loss[t, i]`` says whether the sample enters the policy (surrogate) loss; the critics learn from every sample.
It is False only for slots a shield switched to the baseline when those are excluded (:mod:`.ppo`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.agents.gae import gae

FloatArray = NDArray[np.float64]


@dataclass
class Advantages:
    """GAE advantages and returns of a rollout.

    Attributes:
        adv: ``(T, n)`` reward advantages.
        ret: ``(T, n)`` reward returns (targets of the value critic).
        cost_adv: ``(T, n, K)`` constraint advantages (None without constraints).
        cost_ret: ``(T, n, K)`` constraint returns (targets of the cost critic; None without constraints).
    """

    adv: FloatArray
    ret: FloatArray
    cost_adv: FloatArray | None = None
    cost_ret: FloatArray | None = None


@dataclass
class Rollout:
    """The buffers of one rollout (see the module docstring); build with :meth:`zeros`, fill slot by slot.

    Attributes:
        obs: ``(T, n, n_obs)`` normalised observations the policy saw (float32).
        act: ``(T, n, n_act)`` the policy's samples (before squashing; float32).
        logp: ``(T, n)`` their log-probability under the policy that sampled them.
        value: ``(T, n)`` V(s_t).
        reward: ``(T, n)`` training reward (with the truncation bootstrap).
        done: ``(T, n)`` 1 where an episode ended.
        in_loss: ``(T, n)`` whether the sample enters the policy loss.
        cost: ``(T, n, K)`` constraint signal (with the truncation bootstrap), or None.
        cost_value: ``(T, n, K)`` V_C(s_t), or None.
    """

    obs: NDArray[np.float32]
    act: NDArray[np.float32]
    logp: FloatArray
    value: FloatArray
    reward: FloatArray
    done: FloatArray
    in_loss: NDArray[np.bool_]
    cost: FloatArray | None = None
    cost_value: FloatArray | None = None

    @classmethod
    def zeros(cls, steps: int, n: int, n_obs: int, n_act: int, n_costs: int = 0) -> Rollout:
        """Empty buffers for ``steps`` slots of ``n`` networks (constraint buffers when ``n_costs`` > 0)."""
        costs = (np.zeros((steps, n, n_costs)), np.zeros((steps, n, n_costs))) if n_costs else (None, None)
        return cls(
            obs=np.zeros((steps, n, n_obs), dtype=np.float32), act=np.zeros((steps, n, n_act), dtype=np.float32),
            logp=np.zeros((steps, n)), value=np.zeros((steps, n)), reward=np.zeros((steps, n)),
            done=np.zeros((steps, n)), in_loss=np.ones((steps, n), dtype=np.bool_), cost=costs[0],
            cost_value=costs[1],
        )  # fmt: skip

    def advantages(
        self, next_value: FloatArray, next_cost_value: FloatArray | None, gamma: float, lam: float
    ) -> Advantages:
        """GAE of the reward, and of each constraint when the rollout has them.

        Args:
            next_value: ``(n,)`` V(s_T).
            next_cost_value: ``(n, K)`` V_C(s_T) (None without constraints).
            gamma: discount factor.
            lam: GAE lambda.
        """
        adv, ret = gae(self.reward, self.value, self.done, next_value, gamma, lam)
        if self.cost is None or self.cost_value is None or next_cost_value is None:
            return Advantages(adv, ret)
        steps, n, k = self.cost.shape
        done = np.repeat(self.done, k, axis=1)  # (T, n K): each (network, slice) column is its own sequence
        c_adv, c_ret = gae(
            self.cost.reshape(steps, n * k), self.cost_value.reshape(steps, n * k), done,
            np.asarray(next_cost_value, dtype=np.float64).reshape(n * k), gamma, lam,
        )  # fmt: skip
        return Advantages(adv, ret, c_adv.reshape(steps, n, k), c_ret.reshape(steps, n, k))
