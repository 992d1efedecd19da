"""One PPO rollout, collected: :class:`RolloutCollector` plays ``num_steps`` slots and returns a :class:`Collected`.

The collector owns what a rollout changes: the envs, their current observation and the exploration noise's random
generator. The learner (:class:`~.ppo.PPO`) owns what the rollout only reads: the actor-critic, the observation
statistics and the multipliers. Each :meth:`RolloutCollector.collect` plays ``num_steps`` slots of every network
with the given actor-critic and returns the rollout's buffers (:class:`~.rollout.Rollout`) and everything the
update needs besides them: V of the last observation, the constraint violation rates ``J_C``, the per-slot inputs
of the learner's :class:`~.training_ledger.TrainingLedger`, the sums behind the per-update charts and, with a
training shield, the slots as played.

One collector in the learner's process is PPO's default (bit-identical to the loop it was moved out of: the
observation statistics are updated slot by slot, in place). Rollout workers (:mod:`.distributed`) each run one
on their share of the networks with ``update_obs=False``: they normalise with the statistics they were sent and
return the moments of the raw observations they saw (:attr:`Collected.obs_moments`) for the learner to merge
(:func:`merge_moments`); :func:`merge` joins their parts into the rollout of all networks.

Envs whose info carries ``cost_mask`` (``(n, K)`` bool: which cost columns are live; the per-slice agents of
:mod:`~netslice.intelligence.envs.slice_agents`, whose columns are service kinds) name their columns with
``envs.cost_names``; a sample with no live column (an empty slice slot) is left out of the policy loss
(``buf.in_loss``), and ``J_C`` is each column's violation rate over its live entries only. Their shield is a
:class:`~.slice_shield.SliceShield`: it judges and switches whole networks, learns from the networks as played, and
judges each slice agent's sample (:meth:`~.slice_shield.SliceShield.judge`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.agents import lagrangian
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.agents.rollout import Rollout
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.slice_shield import SliceShield
from netslice.intelligence.agents.switched_samples import judge
from netslice.intelligence.envs import day_history
from netslice.intelligence.envs.day_history import DayHistory

FloatArray = NDArray[np.float64]
#: Moments of a batch of raw observations: ``(mean, var, count)``.
Moments = tuple[FloatArray, FloatArray, int]


class RolloutEnv(Protocol):
    """What PPO needs from a batched env (a gymnasium VectorEnv with SAME_STEP autoreset and snapshots)."""

    num_envs: int
    single_observation_space: Any
    single_action_space: Any
    encoder: Any  # its ``slice_names`` name the ledger's slices
    orch: Any  # its ``scenario`` defines the day-history features (``PPOConfig.day_history``)

    def reset(self, *, seed: int | None = None) -> tuple[Any, dict[str, Any]]: ...  # noqa: D102

    def step(self, actions: FloatArray) -> tuple[Any, Any, Any, Any, dict[str, Any]]: ...  # noqa: D102

    def snapshot(self) -> dict[str, Any]: ...  # noqa: D102

    def restore(self, snap: dict[str, Any]) -> None: ...  # noqa: D102


@dataclass
class Collected:
    """One rollout of ``n`` networks and what the update needs besides its buffers.

    Attributes:
        buf: the rollout's buffers, ``(T, n, ...)``.
        next_value: ``(n,)`` V of the observation after the last slot.
        next_cost: ``(n, K)`` V_C of it (None without constraints).
        j_c: ``(K,)`` the rollout's violation rate per slice (J_C, without the truncation bootstrap; zeros without
            constraints). With cost masks, each column's rate over the (slot, env) entries where it was live.
        ledger_cost: ``(T, n, K)`` the SLA cost of every slot as played (the ledger's input, with ``buf.done``).
        ledger_usage: ``(T, n)`` the weighted usage of every slot as played.
        ledger_live: ``(T, n)`` with cost masks, the samples with a live cost column (the ledger counts only
            those); None otherwise.
        env_reward: sum over the slots of the mean env reward.
        cost_sum: sum over the slots of the mean summed cost.
        violations: sum over the slots of the fraction of networks with any slice's cost > 0.
        played: with a shield, ``(obs, enforced action, cost, margin, switched)`` per slot, what its evaluator
            learns from; else None.
        obs_moments: the raw observations' moments, when the statistics were not updated in place (else None).
        seconds: wall time of the collection.
    """

    buf: Rollout
    next_value: FloatArray
    next_cost: FloatArray | None
    j_c: FloatArray
    ledger_cost: FloatArray
    ledger_usage: FloatArray
    env_reward: float
    cost_sum: float
    violations: float
    played: list[tuple[Any, ...]] | None = None
    obs_moments: Moments | None = None
    seconds: float = 0.0
    ledger_live: NDArray[np.bool_] | None = None


class Collector(Protocol):
    """What PPO needs from a collector: the size of its rollouts, :meth:`collect`, and its state for checkpoints."""

    num_envs: int
    n_obs: int
    n_act: int
    slice_names: tuple[str, ...]

    def collect(self, agent: ActorCritic, obs_rms: RunningMeanStd | None, update_obs: bool) -> Collected: ...  # noqa: D102

    def state(self) -> dict[str, Any]: ...  # noqa: D102

    def load_state(self, data: dict[str, Any]) -> None: ...  # noqa: D102


class RolloutCollector:
    """Rolls out PPO's exploring policy on batched envs in this process (see the module docstring).

    Args:
        cfg: the PPO configuration (``num_steps``, ``clip_noise``, ``cost_penalty``, ``gamma``; ``seed`` seeds the
            envs' reset and the noise unless ``seed`` is given).
        envs: the batched envs (SAME_STEP autoreset); reset here.
        safety: the constraint handling (its cost signal and switched-samples mode).
        shield: the training shield, when switching (a :class:`~.slice_shield.SliceShield` for per-slice agents).
        seed: the seed of the envs' reset and of the noise generator (default: ``cfg.seed``).

    Raises:
        ConfigError: the envs do not autoreset in the same step.
    """

    def __init__(
        self, cfg: PPOConfig, envs: RolloutEnv, safety: SafetyConfig | None = None,
        shield: TrainingShield | SliceShield | None = None, seed: int | None = None,
    ) -> None:  # fmt: skip
        mode = getattr(envs, "metadata", {}).get("autoreset_mode", AutoresetMode.SAME_STEP)
        if mode != AutoresetMode.SAME_STEP:  # the rollout bootstraps truncated episodes from the same step's info
            raise ConfigError(f"envs: PPO needs autoreset_mode SAME_STEP, the envs use {mode}")
        self.cfg = cfg
        self.envs = envs
        self.safety = safety or SafetyConfig()
        self.shield = shield
        self.num_envs = int(envs.num_envs)
        self.n_obs = int(np.prod(envs.single_observation_space.shape))
        self.n_act = int(np.prod(envs.single_action_space.shape))
        #: With ``cfg.day_history``: each network's day history (it has seen every observation before ``obs``).
        self.history: DayHistory | None = None
        if cfg.day_history:
            self.history = DayHistory.create(envs.orch.scenario, self.num_envs)
            self.n_obs += day_history.n_features(self.history.scale.shape[0])
        # The cost columns: the envs' own names where they have them (per-slice agents: the service kinds).
        self.slice_names = tuple(getattr(envs, "cost_names", None) or envs.encoder.slice_names)
        seed = cfg.seed if seed is None else seed
        self.noise_rng = np.random.default_rng(seed)
        self.obs, _ = envs.reset(seed=seed)

    def state(self) -> dict[str, Any]:
        """The checkpoint's entries of the rollout: ``noise_rng``, ``env`` (the envs' snapshot) and ``obs``.

        With the day-history features also ``day_history`` (the histories) and ``day_history_spec`` (what defines
        the features).
        """
        out = {"noise_rng": self.noise_rng.bit_generator.state, "env": self.envs.snapshot(), "obs": self.obs}
        if self.history is not None:
            out |= {"day_history": self.history.state(), "day_history_spec": self.history.spec()}
        return out

    def load_state(self, data: dict[str, Any]) -> None:
        """Continue from :meth:`state`'s entries (of a checkpoint)."""
        self.noise_rng.bit_generator.state = data["noise_rng"]
        self.envs.restore(data["env"])
        self.obs = np.asarray(data["obs"])
        if self.history is not None:
            self.history.load_state(data["day_history"])

    def inputs(self, obs: NDArray[np.floating], update: bool = True) -> FloatArray:
        """The agent's raw input for ``obs``: the observation, with the day-history features when configured.

        ``update``: record ``obs`` in the histories (see :meth:`~.day_history.DayHistory.features`).
        """
        if self.history is None:
            return np.asarray(obs)
        return self.history.features(obs, update)

    def collect(self, agent: ActorCritic, obs_rms: RunningMeanStd | None, update_obs: bool) -> Collected:
        """Play ``num_steps`` slots of every network with ``agent`` exploring (see :class:`Collected`).

        Args:
            agent: the actor-critic (read only).
            obs_rms: the observation statistics (None: observations are not normalised).
            update_obs: update ``obs_rms`` in place with every slot's observations; else normalise with it as given
                and return the raw observations' moments (:attr:`Collected.obs_moments`).
        """
        start = time.perf_counter()
        cfg, n, k = self.cfg, self.num_envs, len(self.slice_names)
        buf = Rollout.zeros(cfg.num_steps, n, self.n_obs, self.n_act, agent.n_costs)
        ledger_cost = np.zeros((cfg.num_steps, n, k))
        ledger_usage = np.zeros((cfg.num_steps, n))
        ledger_live = np.ones((cfg.num_steps, n), dtype=bool)
        env_reward = cost_sum = violations = 0.0
        j_c = np.zeros(k)  # the rollout's violation rate per slice (J_C, without the truncation bootstrap)
        shield = self.shield
        played: list[tuple[Any, ...]] = []  # with a shield: (obs, enforced action, cost, margin, switched) per slot
        track = obs_rms is not None and not update_obs  # the raw observations' moments are returned
        raw_sum, raw_sq = np.zeros(self.n_obs), np.zeros(self.n_obs)
        live_violations, live_count = np.zeros(k), np.zeros(k)  # with cost masks: J_C over the live entries only
        masked = False

        def normalize(obs: FloatArray, update: bool) -> FloatArray:
            if obs_rms is None:
                return obs
            if update and update_obs:
                obs_rms.update(obs)
            return obs_rms.normalize(obs)

        std = agent.log_std.detach().exp().numpy().astype(np.float64)
        for t in range(cfg.num_steps):
            inputs = self.inputs(self.obs)
            if track:
                raw = np.asarray(inputs, dtype=np.float64)
                raw_sum += raw.sum(axis=0)
                raw_sq += (raw * raw).sum(axis=0)
            x = normalize(inputs, update=True)
            with torch.no_grad():
                xt = torch.as_tensor(x, dtype=torch.float32)
                loc = agent.loc(xt).numpy().astype(np.float64)
                v, vc = agent.values(xt)
                value = v.numpy().astype(np.float64)
                if buf.cost_value is not None:
                    buf.cost_value[t] = vc.numpy().astype(np.float64)
            eps = self.noise_rng.standard_normal(loc.shape) * std
            if cfg.clip_noise is not None:
                eps = np.clip(eps, -cfg.clip_noise, cfg.clip_noise)
            action = loc + eps
            logp = (-0.5 * (eps / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(axis=1)
            shares = own = agent.squash(action)
            if shield is not None:  # the baseline's rows where the agent's are predicted to violate
                shares, switched = shield.filter(self.obs, own)
            next_obs, reward, terminated, truncated, info = self.envs.step(shares)
            cost = np.asarray(info["cost"], dtype=np.float64)  # (n, K), clipped to [0, 1]
            judged = cost  # the cost the agent's own action is judged by (see .switched_samples)
            violated: FloatArray | None = None  # with a shield: the violation the agent's own action is judged by
            rated: FloatArray | None = None  # with a shield: the violation the multipliers' rate counts
            train_reward = np.asarray(reward, dtype=np.float64)
            if isinstance(shield, SliceShield):  # per-slice agents: the networks as played, each agent's verdict
                played.append(shield.record(info))
                verdict = shield.judge(self.safety.switched_samples, info)
            elif shield is not None:
                margin = shield.margin(info) if shield.cfg.target == "margin" else None  # what its evaluator learns
                played.append((np.asarray(self.obs), shares, cost, margin, switched))
                verdict = judge(self.safety.switched_samples, shield, self.envs, cost, switched, own, shares)
            if shield is not None:
                judged, violated, rated = verdict.cost, verdict.violation, verdict.rate
                if verdict.in_loss is not None:
                    buf.in_loss[t] = verdict.in_loss
                if verdict.reward_change is not None:
                    train_reward = train_reward + verdict.reward_change
            train_reward = train_reward - cfg.cost_penalty * judged.sum(axis=1)
            signal = None
            if buf.cost is not None:
                signal = (
                    lagrangian.constraint_signal(judged, self.safety.cost_signal) if violated is None
                    else lagrangian.expected_signal(violated, judged, self.safety.cost_signal)
                )  # fmt: skip
            trunc = np.asarray(truncated, dtype=bool) & ~np.asarray(terminated, dtype=bool)
            if trunc.any():
                final = np.stack([np.asarray(o) for o in np.asarray(info["final_obs"], dtype=object)[trunc]])
                if self.history is not None:  # the day so far, as the final observation would extend it
                    final = self.history.select(trunc).features(final, update=False)
                with torch.no_grad():
                    xf = torch.as_tensor(normalize(final, False), dtype=torch.float32)
                    fv, fvc = agent.values(xf)
                    train_reward[trunc] += cfg.gamma * fv.numpy().astype(np.float64)
                    if signal is not None:
                        signal[trunc] += cfg.gamma * fvc.numpy().astype(np.float64)
            buf.obs[t], buf.act[t], buf.logp[t], buf.value[t] = x, action, logp, value
            buf.reward[t] = train_reward
            buf.done[t] = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
            mask = info.get("cost_mask")
            if mask is not None:  # per-slice agents: a sample without a live cost column is no slice's action
                mask = np.asarray(mask, dtype=bool)
                masked = True
                buf.in_loss[t] &= mask.any(axis=1)
                ledger_live[t] = mask.any(axis=1)
            if buf.cost is not None and signal is not None:
                buf.cost[t] = signal
                if mask is not None:
                    counted = (judged > 0.0) if violated is None else (violated if rated is None else rated)
                    live_violations += np.where(mask, counted, 0.0).sum(axis=0)
                    live_count += mask.sum(axis=0)
                else:
                    rate = (
                        lagrangian.violation_rate(judged)
                        if violated is None
                        else (violated if rated is None else rated).mean(axis=0)
                    )
                    j_c += rate / cfg.num_steps
            ledger_cost[t] = cost
            ledger_usage[t] = -np.asarray(info.get("reward_usage", reward), dtype=np.float64)
            env_reward += float(np.mean(reward))
            cost_sum += float(cost.sum(axis=1).mean())
            violations += float((cost > 0.0).any(axis=1).mean())
            self.obs = next_obs
        if masked:  # the violation rate of each column over the entries where it was live (0 where never)
            j_c = np.divide(live_violations, live_count, out=np.zeros(k), where=live_count > 0)
        with torch.no_grad():
            xn = torch.as_tensor(normalize(self.inputs(self.obs, update=False), False), dtype=torch.float32)
            nv, nvc = agent.values(xn)
            next_value = nv.numpy().astype(np.float64)
            next_cost = None if buf.cost is None else nvc.numpy().astype(np.float64)
        moments = None
        if track:
            count = cfg.num_steps * n
            mean = raw_sum / count
            moments = (mean, np.maximum(raw_sq / count - mean * mean, 0.0), count)
        return Collected(
            buf, next_value, next_cost, j_c, ledger_cost, ledger_usage, env_reward, cost_sum, violations,
            played if shield is not None else None, moments, time.perf_counter() - start,
            ledger_live if masked else None,
        )  # fmt: skip


def merge_moments(rms: RunningMeanStd, moments: Moments) -> None:
    """Merge a batch's moments into ``rms`` in place (Chan et al.'s parallel update, as :meth:`RunningMeanStd.update`).

    >>> rms = RunningMeanStd.zeros(1)
    >>> merge_moments(rms, (np.array([2.0]), np.array([1.0]), 2)); merge_moments(rms, (np.array([5.0]), np.zeros(1), 1))
    >>> round(float(rms.mean[0]), 3), round(float(rms.var[0]), 3)
    (3.0, 2.667)
    """
    b_mean, b_var, b_count = moments
    delta = b_mean - rms.mean
    total = rms.count + b_count
    m2 = rms.var * rms.count + b_var * b_count + delta**2 * rms.count * b_count / total
    rms.mean = rms.mean + delta * b_count / total
    rms.var = m2 / total
    rms.count = total


def _pooled(parts: list[Moments]) -> Moments:
    """The moments of the union of equally weighted batches, from each batch's moments."""
    count = sum(c for _, _, c in parts)
    mean = sum(m * c for m, _, c in parts) / count
    var = sum((v + (m - mean) ** 2) * c for m, v, c in parts) / count
    return np.asarray(mean, dtype=np.float64), np.asarray(var, dtype=np.float64), int(count)


def merge(parts: list[Collected]) -> Collected:
    """One rollout of all networks from rollouts of equal shares of them, in the order given (networks side by side).

    Per-network arrays are concatenated along the network axis (new, writable arrays: a part that Ray deserialised
    is read-only); the per-slot means and ``J_C`` are the parts' means (the shares are equal); the observation
    moments are pooled; ``seconds`` is the slowest part's.
    """

    def cat(arrays: list[Any], axis: int) -> Any:
        return None if arrays[0] is None else np.concatenate(arrays, axis=axis)

    buf = Rollout(**{f.name: cat([getattr(p.buf, f.name) for p in parts], 1) for f in fields(Rollout)})
    moments = [p.obs_moments for p in parts]
    return Collected(
        buf=buf,
        next_value=cat([p.next_value for p in parts], 0),
        next_cost=cat([p.next_cost for p in parts], 0),
        j_c=np.mean([p.j_c for p in parts], axis=0),
        ledger_cost=cat([p.ledger_cost for p in parts], 1),
        ledger_usage=cat([p.ledger_usage for p in parts], 1),
        env_reward=float(np.mean([p.env_reward for p in parts])),
        cost_sum=float(np.mean([p.cost_sum for p in parts])),
        violations=float(np.mean([p.violations for p in parts])),
        obs_moments=None if any(m is None for m in moments) else _pooled([m for m in moments if m is not None]),
        seconds=max(p.seconds for p in parts),
        ledger_live=None if any(p.ledger_live is None for p in parts) else cat([p.ledger_live for p in parts], 1),
    )
