"""Behaviour cloning: PPO's actor regressed on a teacher's actions over the states the teacher visited.

The clone is the actor of PPO's own :class:`~netslice.intelligence.agents.nets.ActorCritic` (the run's network
shape, :class:`~netslice.intelligence.agents.ppo_config.PPOConfig`), so that it is the start point of online
learning as it is (:mod:`netslice.intelligence.agents.warm_start`). Its deterministic action is
``mean(x) = sigmoid(u(x))``, ``u(x) = actor(x) + b``. Over the observations ``x_i`` and the teacher's shares
``a_i`` (clipped to [1e-4, 1 - 1e-4]), ``u`` minimises the pinball (quantile) loss of the logit error,

    L(theta) = 1 / (N |A|) sum_i sum_m rho_tau(logit(a_im) - u_theta(x_i)_m),
    rho_tau(e) = max(tau e, (tau - 1) e),

by Adam over shuffled minibatches; the critic is not trained. Two choices, both measured on testbed-v0 with the
forecast planner as teacher (whose shares sit at the SLA boundary; 30 days x 16 networks, 10 epochs):

* **the logit**: the error is relative for small shares (a share of 0.02 cloned as 0.018 costs what 0.2 cloned
  as 0.18 does). The squared error of the shares themselves left the small shares 10 % short;
* **the quantile** ``tau`` (:attr:`~.bc_config.BCConfig.quantile`, 0.9 by default): an allocation too small
  violates the SLA, one too large only costs usage, so the clone errs on the large side where the state does
  not tell it the teacher's action exactly (the teacher plans with the network model, the clone sees the
  observation). With tau = 0.5 (the median) the clone's usage was the teacher's (0.157 vs 0.154) with 8 % of slots
  violating; with 0.9, 0.161 with 1.0 % (the teacher's 2.1 %).

The observations are normalised with the training episodes' mean and variance (the statistics PPO then continues
from), the variance floored at :data:`VAR_FLOOR`: a feature the teacher never varies (an allocation it always sets
to the same value) would otherwise be divided by ~1e-4, and the clone's own slight difference there, or PPO's
exploration, would reach the network as a 10-sigma input (measured: 96 % of slots violating; 21 % with the
floor, at tau = 0.5). The floor, a standard deviation of 0.1, costs the clone nothing measurable (usage and
violations within the evaluation's noise at floors 1e-4, 1e-3 and 1e-2); at 1e-4, PPO starting from the clone
with the statistics frozen met inputs of +-10 as soon as it explored, and its violations rose to 66 % over the run.
Whole episodes are held out (:attr:`~.bc_config.BCConfig.holdout`) to score the clone on states it never saw.

Metrics per epoch (each documented once, here; rows of :attr:`Clone.history`, epoch 0 before any step):
``bc/epoch``, ``bc/loss`` (mean training loss over the epoch's minibatches; at epoch 0 the loss on the training
set), ``bc/holdout_loss`` (the loss on the held-out episodes), ``bc/holdout_mae`` (their mean absolute action
difference, in shares); with an evaluation callback, its metrics too (``usage/mean``, ``sla/violation_rate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from netslice.errors import ConfigError
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.ppo import PPOPolicy, new_agent
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.envs.day_history import DayHistory
from netslice.intelligence.imitation.bc_config import BCConfig
from netslice.intelligence.imitation.dataset import Demonstrations
from netslice.network.scenarios import Scenario

#: Called after each epoch (and before the first) with the epoch and the clone's policy; returns metrics to log.
EpochHook = Callable[[int, PPOPolicy], dict[str, float]]


@dataclass
class Clone:
    """A cloned actor and how it got there.

    Attributes:
        agent: PPO's actor-critic with the cloned actor (the critic untrained).
        obs_rms: the observation statistics of the training episodes (None when ``norm_obs`` is off).
        history: one row per epoch (metrics of the module docstring), epoch 0 first.
        train_episodes: indices of the training episodes.
        holdout_episodes: indices of the held-out episodes.
        day_history: the day-history features' spec of an actor with them (``PPOConfig.day_history``), else None.
    """

    agent: ActorCritic
    obs_rms: RunningMeanStd | None
    history: list[dict[str, float]] = field(default_factory=list)
    train_episodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    holdout_episodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    day_history: dict[str, Any] | None = None

    def policy(self) -> PPOPolicy:
        """The clone as a deterministic policy (a fresh one each call: its day histories start empty)."""
        return PPOPolicy(self.agent, self.obs_rms, day_history=self.day_history)


def split(n_episodes: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out episode indices (a seeded permutation; at least one held out when ``holdout`` > 0).

    Raises:
        ConfigError: nothing would be left to train on.
    """
    n_out = 0 if holdout == 0.0 else max(1, round(holdout * n_episodes))
    if n_out >= n_episodes:
        raise ConfigError(f"holdout: {holdout!r} of {n_episodes} episodes leaves none to train on")
    perm = np.random.default_rng(seed).permutation(n_episodes)
    return np.sort(perm[n_out:]), np.sort(perm[:n_out])


#: Teacher shares are clipped to [LOGIT_EPS, 1 - LOGIT_EPS] before their logit (0 and 1 have none).
LOGIT_EPS = 1e-4


def logit(a: torch.Tensor) -> torch.Tensor:
    """``log(a / (1 - a))`` of shares clipped to [LOGIT_EPS, 1 - LOGIT_EPS]."""
    p = a.clamp(LOGIT_EPS, 1.0 - LOGIT_EPS)
    return torch.log(p) - torch.log1p(-p)


#: Least variance of a normalised feature: a standard deviation of 0.1 (features are bounded by 1 to 10).
VAR_FLOOR = 1e-2


def action_loss(agent: ActorCritic, x: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    """The mean pinball loss at quantile ``tau`` of the teacher's logits ``target`` minus the agent's at ``x``."""
    e = target - (agent.actor(x) + agent.mean_bias)
    loss: torch.Tensor = torch.maximum(tau * e, (tau - 1.0) * e).mean()
    return loss


def clone(
    demos: Demonstrations, ppo: PPOConfig, cfg: BCConfig, on_epoch: EpochHook | None = None,
    scenario: Scenario | None = None,
) -> Clone:  # fmt: skip
    """Clone the teacher of ``demos`` into a fresh actor of PPO configuration ``ppo`` (see the module docstring).

    With ``ppo.day_history`` the actor's input carries the day-history features
    (:mod:`~netslice.intelligence.envs.day_history`), computed over each episode from its reset observation;
    ``scenario`` (the demonstrations') defines them.

    Raises:
        ConfigError: ``ppo.day_history`` without a scenario.
    """
    torch.set_num_threads(1)
    spec = None
    if ppo.day_history:
        if scenario is None:
            raise ConfigError("day_history: behaviour cloning with the day-history features needs the scenario")
        history = DayHistory.create(scenario, demos.n_episodes)
        demos = replace(demos, observations=history.episodes(demos.observations).astype(np.float32))
        spec = history.spec()
    torch.manual_seed(cfg.seed)
    train_eps, hold_eps = split(demos.n_episodes, cfg.holdout, cfg.seed)
    obs, act = demos.states(train_eps)
    n_obs, n_act = obs.shape[1], act.shape[1]
    agent = new_agent(ppo, n_obs, n_act)
    rms = None
    if ppo.norm_obs:
        rms = RunningMeanStd.zeros(n_obs)
        rms.update(obs.astype(np.float64))
        rms.var = np.maximum(rms.var, VAR_FLOOR)

    def tensors(o: np.ndarray, a: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = rms.normalize(o.astype(np.float64)) if rms is not None else o
        return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(a, dtype=torch.float32)

    x, a = tensors(obs, act)
    x_out, a_out = tensors(*demos.states(hold_eps)) if len(hold_eps) else (x[:0], a[:0])
    z, z_out = logit(a), logit(a_out)
    params = list(agent.actor.parameters())
    optimizer = torch.optim.Adam(params, lr=cfg.learning_rate)
    gen = torch.Generator().manual_seed(cfg.seed)
    result = Clone(agent, rms, [], train_eps, hold_eps, spec)

    def record(epoch: int, loss: float) -> None:
        with torch.no_grad():
            row = {"bc/epoch": float(epoch), "bc/loss": loss}
            if len(x_out):
                row["bc/holdout_loss"] = float(action_loss(agent, x_out, z_out, cfg.quantile))
                row["bc/holdout_mae"] = float((agent.mean(x_out) - a_out).abs().mean())
        if on_epoch is not None:
            row |= on_epoch(epoch, result.policy())
        result.history.append(row)

    with torch.no_grad():
        record(0, float(action_loss(agent, x, z, cfg.quantile)))
    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        for s in range(0, x.shape[0], cfg.batch_size):
            idx = perm[s : s + cfg.batch_size]
            loss = action_loss(agent, x[idx], z[idx], cfg.quantile)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total += loss.item() * len(idx)
        record(epoch, total / x.shape[0])
    return result
