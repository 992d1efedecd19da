"""Per-domain agents (the paper's Fig. 4(c)): three Lagrangian PPO learners trained side by side.

One actor-critic per domain group (:data:`~netslice.intelligence.decomposition.GROUPS`: ``ran_edge``,
``transport``, ``core``) plays its rows of the allocation on a :class:`~netslice.intelligence.envs.domain_vector.
DomainVectorEnv`. They are independent learners: each sees only its own observation, earns its own reward (minus
its domains' usage) and keeps its own constraint, the local SLA cost of its share of every slice's SLA (the SLA
decomposition, fixed or adaptive). The rollouts are shared: all three act in the same slots of the same networks.

Each learner is the centralised PPO's machinery on its own data: :func:`~.policy.new_agent` (the
:class:`~.nets.ActorCritic` with a per-slice cost critic), its own Adam optimiser and observation statistics,
:meth:`~.rollout.Rollout.advantages` (GAE of the reward and of each slice's constraint signal, :mod:`.gae`),
:func:`~.ppo_update.learn` under the multipliers in force for the rollout, and its own
:class:`~.lagrangian.Multipliers` (one per slice, from :class:`~.safety_config.SafetyConfig`: the same defaults
as the centralised Lagrangian PPO), stepped on its local violation rates ``J_C`` after each update.

Per-update statistics (:attr:`DomainAgents.history`, one dict per update): ``charts/global_step``,
``charts/sps``, ``usage/mean`` (weighted usage per slot, all groups), ``sla/violation_rate`` (end-to-end: slots
with any slice's SLA cost > 0), ``local/violation_rate/<group>`` (slots with any slice's local cost > 0),
``budget/<group>/<slice>`` (mean latency budget in force, ms), each group's ``losses/*`` and ``safety/*`` with
the group after the namespace (``losses/<group>/policy``, ``safety/<group>/lambda/<slice>``: :func:`grouped`), and
the :class:`~.training_ledger.TrainingLedger`'s cumulative ``train/*`` metrics of the
end-to-end SLA (every slot played while learning).

Baseline switching (``--switching``): with a :class:`~.domain_shield.DomainShield`, the shield judges each network's
allocation (the three groups' rows) before it is played and plays the baseline's where a violation is predicted;
each group's sample is judged as that module says (in a switched network, by the shield's prediction for its own
rows), the shield learns once per update from every network as played, and each row carries its ``shield/*``
metrics. The training ledger counts the slots as played.

Deterministic given ``cfg.seed``: torch, the exploration noise and the env's reset are seeded with it.

Checkpoints (with a ``run_dir``: ``run_dir/checkpoint.pt``, written atomically by
:func:`~.checkpoint.save_checkpoint` every ``checkpoint_every`` updates and at the end) hold, per group, the
actor-critic, optimiser, observation statistics and multipliers, and the shared exploration noise's and torch's
generator states, the env's snapshot (orchestrator, decomposer state), the current observations, the ledger, the
history, the shield's state (with ``--switching``), and the decomposition the actors were trained under
(:meth:`.domain_policy.DomainPolicy.load` rebuilds the policy from it). :meth:`DomainAgents.resume` continues
exactly: a resumed run ends with the parameters and history of an uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netslice.errors import ConfigError
from netslice.intelligence.agents import checkpoint as ckpt
from netslice.intelligence.agents import lagrangian
from netslice.intelligence.agents.domain_policy import KIND, POLICY_KEYS, DomainPolicy, GroupActor
from netslice.intelligence.agents.domain_shield import DomainShield
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.policy import new_agent
from netslice.intelligence.agents.ppo import CONFIG_HINT
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.agents.ppo_update import cap_exploration, learn
from netslice.intelligence.agents.rollout import Rollout
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.training_ledger import TrainingLedger
from netslice.intelligence.decomposition import GROUPS
from netslice.intelligence.envs.domain_vector import DomainVectorEnv, GroupObs
from netslice.intelligence.envs.features import FloatArray

#: The safety settings of the per-domain learners by default: the centralised Lagrangian PPO's, at d = 1 %.
DEFAULT_SAFETY = SafetyConfig(method="lagrangian", violation_limit=0.01)
#: Entries it needs to resume training (:meth:`DomainAgents.resume`).
RESUME_KEYS = (*POLICY_KEYS, "noise_rng", "torch_rng", "env", "obs", "update", "global_step", "history", "ledger")


def grouped(group: str, metrics: dict[str, float]) -> dict[str, float]:
    """A group's metrics with the group after their namespace.

    >>> grouped("core", {"safety/lambda/iot": 0.5, "losses/policy": 0.1})
    {'safety/core/lambda/iot': 0.5, 'losses/core/policy': 0.1}
    """
    out = {}
    for key, value in metrics.items():
        namespace, _, rest = key.partition("/")
        out[f"{namespace}/{group}/{rest}"] = value
    return out


@dataclass
class GroupLearner:
    """One group's learner: its actor-critic, optimiser, observation statistics and multipliers."""

    group: str
    agent: ActorCritic
    optimizer: torch.optim.Optimizer
    obs_rms: RunningMeanStd | None
    multipliers: lagrangian.Multipliers | None

    def state(self) -> dict[str, Any]:
        """The checkpoint's entry of this group: sizes, networks, optimiser, statistics and multipliers."""
        return {
            "n_obs": self.agent.n_obs, "n_act": self.agent.n_act, "n_costs": self.agent.n_costs,
            "agent": self.agent.state_dict(), "optimizer": self.optimizer.state_dict(),
            "obs_rms": None if self.obs_rms is None else self.obs_rms.state_dict(),
            "multipliers": None if self.multipliers is None else self.multipliers.state(),
        }  # fmt: skip

    def load_state(self, data: dict[str, Any]) -> None:
        """Continue from :meth:`state` (of a checkpoint written with the same configuration)."""
        self.agent.load_state_dict(data["agent"])
        self.optimizer.load_state_dict(data["optimizer"])
        self.obs_rms = RunningMeanStd.from_state_dict(data["obs_rms"]) if data["obs_rms"] else None
        if self.multipliers is not None:  # a KeyError or TypeError here: a checkpoint without multipliers
            self.multipliers = lagrangian.from_state(data["multipliers"])

    def normalize(self, obs: FloatArray, update: bool) -> FloatArray:
        """``obs`` normalised with the running statistics (updated first when ``update``)."""
        if self.obs_rms is None:
            return obs
        if update:
            self.obs_rms.update(obs)
        return self.obs_rms.normalize(obs)


@dataclass
class _Rollouts:
    """The buffers of one update: one rollout per group, its ``J_C``, and what the row reports."""

    bufs: dict[str, Rollout]
    j_c: dict[str, FloatArray]
    local_viol: dict[str, float]
    budgets: dict[str, FloatArray] = field(default_factory=dict)
    usage: float = 0.0
    violations: float = 0.0
    played: list[tuple[Any, ...]] = field(default_factory=list)  # with a shield: each slot as the shield learns it


class DomainAgents:
    """Three per-domain PPO learners on one :class:`DomainVectorEnv` (see the module docstring).

    Args:
        cfg: the PPO hyper-parameters (shared by the three learners; ``seed`` seeds everything).
        envs: the batched per-domain env (reset here with ``cfg.seed``).
        safety: the constraint handling (default :data:`DEFAULT_SAFETY`); ``"none"`` trains on the penalty alone.
        run_dir: where the checkpoint goes (None: no checkpoints); the temporary files that killed saves left there
            are removed (listed in :attr:`stale_removed`).
        run_config: plain data describing the whole run (``RunConfig.record()``), saved in the checkpoint;
            :meth:`resume` refuses a checkpoint written with another one.
        shield: the training shield when switching (built on ``envs``; pretrained before :meth:`train`).
    """

    def __init__(
        self, cfg: PPOConfig, envs: DomainVectorEnv, safety: SafetyConfig | None = None,
        run_dir: str | Path | None = None, run_config: dict[str, Any] | None = None, shield: DomainShield | None = None,
    ) -> None:  # fmt: skip
        self.cfg = cfg
        self.envs = envs
        self.safety = DEFAULT_SAFETY if safety is None else safety
        self.shield = shield
        torch.set_num_threads(1)
        torch.manual_seed(cfg.seed)
        self.slice_names = tuple(envs.encoder.slice_names)
        n_costs = len(self.slice_names) if self.safety.enabled else 0
        self.learners: dict[str, GroupLearner] = {}
        for g in GROUPS:
            agent = new_agent(cfg, envs.obs_sizes[g], envs.act_sizes[g], n_costs)
            optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=1e-5)
            rms = RunningMeanStd.zeros(envs.obs_sizes[g]) if cfg.norm_obs else None
            self.learners[g] = GroupLearner(g, agent, optimizer, rms, self.safety.multipliers(self.slice_names))
        self.noise_rng = np.random.default_rng(cfg.seed)
        self.obs, _ = envs.reset(seed=cfg.seed)
        self.update = 0
        self.global_step = 0
        self.history: list[dict[str, float]] = []
        self.ledger = TrainingLedger(self.slice_names, envs.num_envs)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.run_config = run_config
        self.stale_removed = [] if self.run_dir is None else ckpt.remove_stale_temp_files(self.checkpoint_path)

    @property
    def batch_size(self) -> int:
        """Env steps per update (``num_steps`` x networks)."""
        return self.cfg.num_steps * self.envs.num_envs

    @property
    def n_updates(self) -> int:
        """Updates needed for ``total_steps``."""
        return max(1, self.cfg.total_steps // self.batch_size)

    @property
    def checkpoint_path(self) -> Path:
        """Where the checkpoint lives.

        Raises:
            ConfigError: the learners were created without a ``run_dir``.
        """
        if self.run_dir is None:
            raise ConfigError("run_dir: per-domain agents created without a run folder keep no checkpoint")
        return self.run_dir / "checkpoint.pt"

    def policy(self) -> DomainPolicy:
        """The three actors as one deterministic :class:`~netslice.intelligence.policies.base.ContextPolicy`."""
        actors = {g: GroupActor(lr.agent, lr.obs_rms) for g, lr in self.learners.items()}
        env = self.envs
        return DomainPolicy(actors, env.encoder, env.decomposer, env.targets)

    def train(
        self, max_updates: int | None = None, on_update: Callable[[int, int, dict[str, float]], None] | None = None
    ) -> list[dict[str, float]]:
        """Run updates until ``total_steps`` (or ``max_updates`` more); ``on_update(update, n_updates, row)``."""
        torch.set_num_threads(1)
        done_here = 0
        while self.update < self.n_updates and (max_updates is None or done_here < max_updates):
            row = self._one_update()
            self.update += 1
            done_here += 1
            self.history.append(row)
            if on_update is not None:
                on_update(self.update, self.n_updates, row)
            if self.run_dir is not None and (self.update % self.cfg.checkpoint_every == 0 or self.update ==
                                             self.n_updates):  # fmt: skip
                self.save()
        return self.history

    # ------------------------------------------------------------------------------------ checkpoints

    def save(self) -> Path:
        """Write the checkpoint atomically (see the module docstring); return its path."""
        dec = self.envs.decomposer
        return ckpt.save_checkpoint(self.checkpoint_path, {
            "kind": KIND, "config": asdict(self.cfg), "run_config": self.run_config,
            "safety": {"config": asdict(self.safety)},
            "groups": {g: lr.state() for g, lr in self.learners.items()},
            "decomposition": {"config": asdict(dec.config), "shares": dec.shares, "weights": self.envs.encoder.weights},
            "noise_rng": self.noise_rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "env": self.envs.snapshot(), "obs": dict(self.obs), "update": self.update,
            "global_step": self.global_step, "history": self.history, "ledger": self.ledger.state(),
            "shield": None if self.shield is None else self.shield.state(),
        })  # fmt: skip

    def resume(self) -> bool:
        """Restore the checkpoint in ``run_dir`` if there is one; return whether it did.

        Raises:
            CheckpointError: the checkpoint is unreadable, written with another configuration (``run_config``,
                else the PPO and safety configs; the message names the differing keys), not of per-domain agents,
                or from another scenario: nothing of it is applied then.
        """
        path = self.checkpoint_path
        if not path.exists():
            return False
        data = ckpt.load_checkpoint(path)
        saved_safety = data.get("safety") or {}
        ckpt.check_same_config(
            path, data.get("run_config") or {"ppo": data.get("config"), "safety": saved_safety.get("config")},
            self.run_config or {"ppo": asdict(self.cfg), "safety": asdict(self.safety)}, CONFIG_HINT,
            ignore=("netslice",),
        )  # fmt: skip
        missing = [key for key in RESUME_KEYS if key not in data]
        if missing or data["kind"] != KIND:
            raise ckpt.CheckpointError(f"checkpoint {path}: not a checkpoint of per-domain agents (missing "
                                       f"{', '.join(missing or ['kind'])}); {ckpt.DEFAULT_HINT}")  # fmt: skip
        with ckpt.restoring(path):
            for g, lr in self.learners.items():
                lr.load_state(data["groups"][g])
            self.noise_rng.bit_generator.state = data["noise_rng"]
            torch.set_rng_state(data["torch_rng"])
            self.envs.restore(data["env"])
            self.obs = {g: np.asarray(data["obs"][g], dtype=np.float32) for g in GROUPS}
            self.update, self.global_step = int(data["update"]), int(data["global_step"])
            self.history = list(data["history"])
            self.ledger = TrainingLedger.from_state(data["ledger"])
            if self.shield is not None:  # a KeyError or TypeError here: a checkpoint without the shield's state
                self.shield.load_state(data["shield"])
        return True

    # ------------------------------------------------------------------------------------ one update

    def _act(self, obs: GroupObs, t: int, got: _Rollouts) -> dict[str, FloatArray]:
        """Every group's exploring action for slot ``t``; fills the groups' buffers' observation columns."""
        shares: dict[str, FloatArray] = {}
        for g, lr in self.learners.items():
            buf = got.bufs[g]
            x = lr.normalize(np.asarray(obs[g], dtype=np.float64), update=True)
            std = lr.agent.log_std.detach().exp().numpy().astype(np.float64)
            with torch.no_grad():
                xt = torch.as_tensor(x, dtype=torch.float32)
                loc = lr.agent.loc(xt).numpy().astype(np.float64)
                v, vc = lr.agent.values(xt)
            eps = self.noise_rng.standard_normal(loc.shape) * std
            if self.cfg.clip_noise is not None:
                eps = np.clip(eps, -self.cfg.clip_noise, self.cfg.clip_noise)
            action = loc + eps
            buf.obs[t], buf.act[t], buf.value[t] = x, action, v.numpy()
            buf.logp[t] = (-0.5 * (eps / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(axis=1)
            if buf.cost_value is not None:
                buf.cost_value[t] = vc.numpy()
            shares[g] = lr.agent.squash(action)
        return shares

    def _values(self, g: str, obs: FloatArray) -> tuple[FloatArray, FloatArray]:
        """V and V_C of group ``g`` at raw observations ``obs`` (statistics not updated)."""
        lr = self.learners[g]
        with torch.no_grad():
            v, vc = lr.agent.values(torch.as_tensor(lr.normalize(obs, False), dtype=torch.float32))
        return v.numpy().astype(np.float64), vc.numpy().astype(np.float64)

    def _collect(self) -> _Rollouts:
        cfg, n, k = self.cfg, self.envs.num_envs, len(self.slice_names)
        got = _Rollouts(
            bufs={g: Rollout.zeros(cfg.num_steps, n, lr.agent.n_obs, lr.agent.n_act, lr.agent.n_costs)
                  for g, lr in self.learners.items()},
            j_c={g: np.zeros(k) for g in GROUPS}, local_viol=dict.fromkeys(GROUPS, 0.0),
            budgets={g: np.zeros(k) for g in GROUPS},
        )  # fmt: skip
        for t in range(cfg.num_steps):
            shares = self._act(self.obs, t, got)
            if self.shield is not None:  # the baseline's rows in the networks predicted to violate
                shares, _ = self.shield.filter(shares)
            next_obs, rewards, terminated, truncated, info = self.envs.step(shares)
            done = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
            cost = np.asarray(info["cost"], dtype=np.float64)  # (n, K, G)
            if self.shield is not None:  # each group judged by its own rows where its network was switched
                got.played.append(self.shield.record(info))
                cost = self.shield.judge(cost)
            for gi, g in enumerate(GROUPS):
                buf, local = got.bufs[g], cost[..., gi]
                reward = rewards[:, gi] - cfg.cost_penalty * local.sum(axis=1)
                signal = lagrangian.constraint_signal(local, self.safety.cost_signal)
                if truncated.any():  # not terminal: bootstrap with V (and V_C) of the final observation
                    fv, fvc = self._values(g, np.asarray(info["final_obs"][g], dtype=np.float64)[truncated])
                    reward[truncated] += cfg.gamma * fv
                    signal[truncated] += cfg.gamma * fvc if buf.cost is not None else 0.0
                buf.reward[t], buf.done[t] = reward, done
                if buf.cost is not None:
                    buf.cost[t] = signal
                got.j_c[g] += lagrangian.violation_rate(local) / cfg.num_steps
                got.local_viol[g] += float((local > 0.0).any(axis=1).mean()) / cfg.num_steps
                got.budgets[g] += info["budget_ms"][..., gi].mean(axis=0) / cfg.num_steps  # NaN: no latency term
            e2e = np.asarray(info["cost_e2e"], dtype=np.float64)
            usage = -rewards.sum(axis=1)
            self.ledger.record(e2e, usage, done)
            got.usage += float(usage.mean()) / cfg.num_steps
            got.violations += float((e2e > 0.0).any(axis=1).mean()) / cfg.num_steps
            self.obs = next_obs
        return got

    def _one_update(self) -> dict[str, float]:
        cfg = self.cfg
        start = time.perf_counter()
        if cfg.anneal_lr:
            for lr in self.learners.values():
                for group in lr.optimizer.param_groups:
                    group["lr"] = cfg.learning_rate * (1.0 - self.update / self.n_updates)
        for lr in self.learners.values():
            cap_exploration(lr.agent, cfg.log_std_cap(self.update, self.n_updates))
        lams = {g: None if lr.multipliers is None else lr.multipliers.lam.copy() for g, lr in self.learners.items()}
        got = self._collect()
        self.global_step += self.batch_size
        row: dict[str, float] = {}
        for g, lr in self.learners.items():
            nv, nvc = self._values(g, np.asarray(self.obs[g], dtype=np.float64))
            buf = got.bufs[g]
            adv = buf.advantages(nv, nvc if buf.cost is not None else None, cfg.gamma, cfg.gae_lambda)
            losses = learn(lr.agent, lr.optimizer, cfg, buf, adv, lams[g], self.safety.normalise_lagrangian,
                           self.update)  # fmt: skip
            row |= grouped(g, losses)
            if lr.multipliers is not None:
                lr.multipliers.observe(got.j_c[g])
                row |= grouped(g, lr.multipliers.metrics())
            row[f"local/violation_rate/{g}"] = got.local_viol[g]
            budgets = zip(self.slice_names, got.budgets[g], strict=True)
            row |= {f"budget/{g}/{s}": float(b) for s, b in budgets if np.isfinite(b)}
        if self.shield is not None:
            obs_p, act_p, cost_p, margin_p, switched_p = zip(*got.played, strict=True)
            margins = None if margin_p[0] is None else np.stack(margin_p)
            row |= self.shield.learn(np.stack(obs_p), np.stack(act_p), np.stack(cost_p), margin=margins,
                                     switched=np.stack(switched_p))  # fmt: skip
        elapsed = time.perf_counter() - start
        return {
            "charts/global_step": float(self.global_step), "charts/sps": self.batch_size / max(elapsed, 1e-9),
            "usage/mean": got.usage, "sla/violation_rate": got.violations, **row, **self.ledger.metrics(),
        }  # fmt: skip
