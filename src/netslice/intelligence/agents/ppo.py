"""PPO for continuous slicing actions on the batched environment (a readable, CleanRL-style loop).

One update: roll out ``num_steps`` slots in each of the env's ``n_envs`` networks (a
:class:`~.collector.RolloutCollector` in this process, or rollout workers on Ray: :mod:`.distributed`), compute GAE
advantages (bootstrapping truncated episodes with V(final observation)), then ``update_epochs``
passes of clipped-surrogate PPO over minibatches. The training reward is the env's reward (minus
weighted resource usage) minus ``cost_penalty`` times the sum of the slices' SLA costs (clipped to
[0, 1] by the env): the penalty form of the constrained MDP.

With a safety method (:class:`~.safety_config.SafetyConfig`), the critic has a cost head with one output per
slice, ``V_C[k]``, learning the discounted sum of the constraint signal (``cost_signal``); the policy
is trained on the Lagrangian's advantage (:func:`~.lagrangian.lagrangian_advantage` of the reward's and the
constraints' GAE, :mod:`.rollout`), with the multipliers in force at the update's start (``cost_penalty`` 0:
the pure Lagrangian, else the penalty stays in the reward). After the update, the multipliers observe the
rollout's violation rates ``J_C`` and step on their time scale (:mod:`.lagrangian`). The gradient epochs are
:mod:`.ppo_update`.

Exploration: Gaussian noise on the share's logit (``noise_space="logit"``, the default: the sample
goes through the sigmoid, so the noise is relative to the share) or on the sigmoid-squashed share
itself (``"share"``, as in the paper: the sample is clipped to [0, 1]). With ``clip_noise = H`` the
noise is clipped to [-H, H] before it is added (the paper's clipped exploration a + clip(eps, -H, H));
the log-probability used in the ratio is that of the Gaussian (an approximation that ignores the
clipping, exact for |eps| < H).

Every slot played goes into a :class:`~.training_ledger.TrainingLedger` (:attr:`PPO.ledger`): the SLA
violations and usage that learning cost, cumulative over the run, added to each update's row.

Checkpoints (``run_dir/checkpoint.pt``, written atomically every ``checkpoint_every`` updates and at
the end) hold the networks, optimiser, observation statistics, random generator states, the env's
snapshot, the current observation, the ledger and the multipliers, so that a resumed run continues exactly.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.agents import checkpoint as ckpt
from netslice.intelligence.agents import lagrangian
from netslice.intelligence.agents.collector import Collector, RolloutCollector, RolloutEnv, merge_moments
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.policy import EVAL_HINT, PPOPolicy, new_agent
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.agents.ppo_update import cap_exploration, learn
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.slice_shield import SliceShield
from netslice.intelligence.agents.training_ledger import TrainingLedger
from netslice.intelligence.agents.warm_config import WarmStartConfig
from netslice.intelligence.agents.warm_start import load_actor

FloatArray = NDArray[np.float64]
#: EVAL_HINT, PPOPolicy and new_agent live in :mod:`.policy`, RolloutEnv in :mod:`.collector`; importable from here.
__all__ = [
    "CONFIG_HINT",
    "EVAL_HINT",
    "PPO",
    "RESUME_KEYS",
    "PPOConfig",
    "PPOPolicy",
    "PPOStats",
    "RolloutEnv",
    "new_agent",
]  # fmt: skip

#: Entries a checkpoint needs to resume training (:meth:`PPO.resume`).
RESUME_KEYS = (
    *ckpt.POLICY_KEYS, "optimizer", "noise_rng", "torch_rng", "update", "global_step", "history", "env", "obs", "ledger"
)  # fmt: skip
#: What to do about a checkpoint written with another configuration.
CONFIG_HINT = (
    "resume with the saved configuration (`netslice train --config RUN_DIR/run_config.json`), "
    "use another --run-dir, or --no-resume to start over"
)


@dataclass
class PPOStats:
    """Per-update statistics (each documented once; logged under these names).

    Attributes:
        history: one dict per update with ``charts/global_step``, ``charts/sps`` (env steps per second),
            ``charts/reward`` (mean env reward per step), ``charts/cost`` (mean summed cost per step),
            ``sla/violation_rate`` (fraction of steps with any slice cost > 0), ``usage/mean`` (mean
            weighted usage), the ``losses/*`` of :mod:`.ppo_update`, ``policy/std`` (mean exploration std),
            ``time/rollout_s`` (seconds of the update spent rolling out and computing GAE) and
            ``time/learn_s`` (seconds spent in the gradient epochs), with rollout workers
            ``time/worker_collect_s`` (the slowest worker's own collection time); then the ledger's ``train/*`` metrics,
            cumulative over every slot played so far (:mod:`.training_ledger`); with a safety method, the
            multipliers' ``safety/*`` metrics after the update's step (:mod:`.lagrangian`) and
            ``safety/cost_value/<slice>``, the cost critic's mean ``V_C`` over the rollout.
    """

    history: list[dict[str, float]] = field(default_factory=list)


class PPO:
    """The PPO learner: create, then :meth:`train` (resumes from ``run_dir`` when a checkpoint exists).

    Creating a learner removes the temporary files that killed saves left in ``run_dir``
    (listed in :attr:`stale_removed`). ``run_config``: plain data describing the whole run (e.g.
    :meth:`~netslice.intelligence.run_config.RunConfig.record`, with ``cfg`` under ``"ppo"``), saved in the
    checkpoint; :meth:`resume` refuses a checkpoint written with another one. ``safety``: the constraint
    handling (default: none); its multipliers are :attr:`multipliers` (None without a safety method). ``warm``: the
    actor to start from, and the first updates that train the critics alone (:mod:`.warm_config`). The rollouts:
    ``envs`` (then a :class:`~.collector.RolloutCollector` in this process plays them, seeded with ``cfg.seed``), or
    ``collector`` (e.g. the Ray workers' :class:`~.distributed.RayCollector`; ``envs`` None, ``shield`` unused).
    ``shield``: the training shield (a :class:`~.slice_shield.SliceShield` for per-slice agents' envs).
    """

    def __init__(
        self, cfg: PPOConfig, envs: RolloutEnv | None, run_dir: str | Path, run_config: dict[str, Any] | None = None,
        safety: SafetyConfig | None = None, shield: TrainingShield | SliceShield | None = None,
        warm: WarmStartConfig | None = None,
        collector: Collector | None = None,
    ) -> None:  # fmt: skip
        if (envs is None) == (collector is None):
            raise ConfigError("envs: give PPO either the envs (a collector in this process) or a collector, not both")
        self.cfg = cfg
        self.run_config = run_config
        self.envs = envs
        self.run_dir = Path(run_dir)
        self.safety = safety or SafetyConfig()
        if collector is None:  # checks the envs' autoreset mode, resets them (seed: cfg.seed)
            assert envs is not None
            collector = RolloutCollector(cfg, envs, self.safety, shield)
        self.collector: Collector = collector
        self.n_obs, self.n_act = collector.n_obs, collector.n_act
        torch.set_num_threads(1)  # faster here, and the orthogonal init (QR) depends on the thread count
        torch.manual_seed(cfg.seed)
        self.n_costs = len(collector.slice_names) if self.safety.enabled else 0
        self.agent = new_agent(cfg, self.n_obs, self.n_act, self.n_costs)
        self.warm = warm or WarmStartConfig()
        self.learning_rate = self.warm.rate(cfg.learning_rate)  # a warm actor fine-tunes with its own step size
        self.optimizer = torch.optim.Adam(self.agent.parameters(), lr=self.learning_rate, eps=1e-5)
        self.obs_rms = RunningMeanStd.zeros(self.n_obs) if cfg.norm_obs else None
        if self.warm.actor is not None:
            self.obs_rms = load_actor(self.agent, cfg, self.warm.actor, self.warm.log_std)
        self.obs_frozen = self.warm.enabled and self.warm.freeze_obs  # the warm actor's statistics stay
        self.update = 0
        self.global_step = 0
        self.stats = PPOStats()
        self.ledger = TrainingLedger(collector.slice_names, collector.num_envs)
        self.multipliers = self.safety.multipliers(collector.slice_names)
        self.shield = shield
        self.stale_removed = ckpt.remove_stale_temp_files(self.checkpoint_path)

    @property
    def obs(self) -> Any:
        """The current observation of the envs (of a collector in this process only)."""
        if not isinstance(self.collector, RolloutCollector):
            raise AttributeError("obs: the envs live in the rollout workers")
        return self.collector.obs

    @property
    def noise_rng(self) -> np.random.Generator:
        """The exploration noise's generator (of a collector in this process only)."""
        if not isinstance(self.collector, RolloutCollector):
            raise AttributeError("noise_rng: each rollout worker has its own")
        return self.collector.noise_rng

    @property
    def batch_size(self) -> int:
        """Samples per rollout (num_steps x num_envs)."""
        return self.cfg.num_steps * self.collector.num_envs

    @property
    def n_updates(self) -> int:
        """Updates needed for ``total_steps``."""
        return max(1, self.cfg.total_steps // self.batch_size)

    @property
    def history(self) -> list[dict[str, float]]:
        """The statistics of every update so far (:attr:`PPOStats.history`)."""
        return self.stats.history

    @property
    def checkpoint_path(self) -> Path:
        """Where the checkpoint lives."""
        return self.run_dir / "checkpoint.pt"

    def policy(self) -> PPOPolicy:
        """The current deterministic policy."""
        history = getattr(self.collector, "history", None)
        return PPOPolicy(self.agent, self.obs_rms, day_history=None if history is None else history.spec())

    # ------------------------------------------------------------------------------ checkpoints

    def save(self) -> Path:
        """Write the checkpoint atomically."""
        multipliers = None if self.multipliers is None else self.multipliers.state()
        return ckpt.save_checkpoint(
            self.checkpoint_path,
            {
                "config": asdict(self.cfg), "run_config": self.run_config, "n_obs": self.n_obs, "n_act": self.n_act,
                "n_costs": self.n_costs, "agent": self.agent.state_dict(), "optimizer": self.optimizer.state_dict(),
                "obs_rms": self.obs_rms.state_dict() if self.obs_rms is not None else None,
                **self.collector.state(), "torch_rng": torch.get_rng_state(),  # noise_rng, env, obs
                "update": self.update, "global_step": self.global_step, "history": self.stats.history,
                "ledger": self.ledger.state(),
                "safety": {"config": asdict(self.safety), "multipliers": multipliers},
                "shield": None if self.shield is None else self.shield.state(),
            },
        )  # fmt: skip

    def resume(self) -> bool:
        """Restore the checkpoint in ``run_dir`` if there is one; return whether it did.

        Raises:
            CheckpointError: the checkpoint is unreadable, incomplete, from another scenario, or written
                with another configuration (``run_config``, else the PPO config; the message names the
                differing keys): nothing of it is applied then.
        """
        path = self.checkpoint_path
        if not path.exists():
            return False
        data = ckpt.load_checkpoint(path, RESUME_KEYS)
        if (data["n_obs"], data["n_act"]) != (self.n_obs, self.n_act):
            raise ckpt.CheckpointError(
                f"checkpoint {path}: written for {data['n_obs']} observations and {data['n_act']} actions, "
                f"this run has {self.n_obs} and {self.n_act} (another scenario?); use another --run-dir, "
                "or --no-resume to start over"
            )
        saved_safety = {"safety": data["safety"]["config"]} if data.get("safety") else {}
        ckpt.check_same_config(
            path, data.get("run_config") or {"ppo": data["config"], **saved_safety},
            self.run_config or {"ppo": asdict(self.cfg), "safety": asdict(self.safety)}, CONFIG_HINT,
            ignore=("netslice",),
        )  # fmt: skip
        with ckpt.restoring(path):
            self.agent.load_state_dict(data["agent"])
            self.optimizer.load_state_dict(data["optimizer"])
            self.obs_rms = RunningMeanStd.from_state_dict(data["obs_rms"]) if data["obs_rms"] else None
            self.collector.load_state(data)  # noise_rng, env, obs
            torch.set_rng_state(data["torch_rng"])
            self.update, self.global_step = int(data["update"]), int(data["global_step"])
            self.stats.history = list(data["history"])
            self.ledger = TrainingLedger.from_state(data["ledger"])
            if self.multipliers is not None:  # a KeyError or TypeError here: a checkpoint without multipliers
                self.multipliers = lagrangian.from_state(data["safety"]["multipliers"])
            if self.shield is not None:  # likewise: a checkpoint without the shield's state
                self.shield.load_state(data["shield"])
        return True

    # ------------------------------------------------------------------------------------ training

    def train(self, max_updates: int | None = None, on_update: Any = None) -> PPOStats:
        """Run updates until ``total_steps`` (or ``max_updates`` more updates); checkpoint on the way.

        Args:
            max_updates: stop after this many updates in this call (for tests and interruptions).
            on_update: optional callable ``(update, n_updates, stats_row)`` for progress and logging.

        Returns:
            The statistics of every update so far.
        """
        torch.set_num_threads(1)
        done_here = 0
        while self.update < self.n_updates and (max_updates is None or done_here < max_updates):
            row = self._one_update()
            self.update += 1
            done_here += 1
            self.stats.history.append(row)
            if on_update is not None:
                on_update(self.update, self.n_updates, row)
            if self.update % self.cfg.checkpoint_every == 0 or self.update == self.n_updates:
                self.save()
        return self.stats

    def _one_update(self) -> dict[str, float]:
        cfg, n = self.cfg, self.collector.num_envs
        start = time.perf_counter()
        if cfg.anneal_lr:
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate * (1.0 - self.update / self.n_updates)
        cap_exploration(self.agent, cfg.log_std_cap(self.update, self.n_updates))
        lam = None if self.multipliers is None else self.multipliers.lam.copy()  # in force for the whole rollout
        shield = self.shield
        std = self.agent.log_std.detach().exp().numpy().astype(np.float64)
        got = self.collector.collect(self.agent, self.obs_rms, update_obs=not self.obs_frozen)
        buf = got.buf
        if got.obs_moments is not None and self.obs_rms is not None and not self.obs_frozen:
            merge_moments(self.obs_rms, got.obs_moments)  # the workers' observations (see .collector)
        for t in range(cfg.num_steps):
            live = None if got.ledger_live is None else got.ledger_live[t]  # per-slice agents: live slots only
            self.ledger.record(got.ledger_cost[t], got.ledger_usage[t], buf.done[t], live)
        advantages = buf.advantages(got.next_value, got.next_cost, cfg.gamma, cfg.gae_lambda)
        self.global_step += cfg.num_steps * n
        learn_start = time.perf_counter()
        frozen = self.warm.actor_frozen(self.update)  # a warm start's first updates: the critics alone
        losses = learn(
            self.agent, self.optimizer, cfg, buf, advantages, lam, self.safety.normalise_lagrangian, self.update,
            train_actor=not frozen,
        )  # fmt: skip
        safety: dict[str, float] = {}
        if shield is not None and got.played is not None:
            obs_p, act_p, cost_p, margin_p, switched_p = zip(*got.played, strict=True)
            margins = None if margin_p[0] is None else np.stack(margin_p)
            safety |= shield.learn(
                np.stack(obs_p), np.stack(act_p), np.stack(cost_p), margin=margins, switched=np.stack(switched_p)
            )  # fmt: skip
        if self.multipliers is not None and buf.cost is not None and buf.cost_value is not None:
            if not frozen:  # a frozen actor cannot answer the multipliers: they would wind up (measured)
                self.multipliers.observe(got.j_c)
            safety |= self.multipliers.metrics() | {
                f"safety/cost_value/{s}": float(v)
                for s, v in zip(self.collector.slice_names, buf.cost_value.mean(axis=(0, 1)), strict=True)
            }
        end = time.perf_counter()
        elapsed = end - start
        return {
            "charts/global_step": float(self.global_step),
            "charts/sps": cfg.num_steps * n / max(elapsed, 1e-9),
            "charts/reward": got.env_reward / cfg.num_steps,
            "charts/cost": got.cost_sum / cfg.num_steps,
            "sla/violation_rate": got.violations / cfg.num_steps,
            "usage/mean": -got.env_reward / cfg.num_steps,
            "policy/std": float(std.mean()),
            **losses,
            "time/rollout_s": learn_start - start,
            "time/learn_s": end - learn_start,
            **({} if isinstance(self.collector, RolloutCollector) else {"time/worker_collect_s": got.seconds}),
            **self.ledger.metrics(),
            **safety,
        }
