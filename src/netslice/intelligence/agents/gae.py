"""Generalised advantage estimation (Schulman et al., 2016), with bootstrapping at truncation.

For a rollout of T steps over N envs: delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t) and
A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}. Episodes that end by truncation (time limit)
are not terminal: the caller adds gamma * V(final observation) to the reward of that step and
marks it done, so the advantage stops there but the value is still bootstrapped.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def gae(
    rewards: FloatArray, values: FloatArray, dones: FloatArray, next_value: FloatArray, gamma: float, lam: float
) -> tuple[FloatArray, FloatArray]:
    """Advantages and returns of a rollout.

    Args:
        rewards: ``(T, N)`` rewards (with the truncation bootstrap already added).
        values: ``(T, N)`` V(s_t).
        dones: ``(T, N)`` 1 where the episode ended at step t (terminated or truncated).
        next_value: ``(N,)`` V(s_T), the value after the last step.
        gamma: discount factor.
        lam: GAE lambda.

    Returns:
        ``(advantages, returns)``, both ``(T, N)``; returns = advantages + values.

    >>> adv, ret = gae(np.array([[1.0], [1.0]]), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(1), 0.5, 1.0)
    >>> adv.ravel().tolist()
    [1.5, 1.0]
    """
    steps = rewards.shape[0]
    adv = np.zeros_like(rewards)
    last = np.zeros_like(next_value)
    for t in reversed(range(steps)):
        nxt = next_value if t == steps - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * nxt * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values
