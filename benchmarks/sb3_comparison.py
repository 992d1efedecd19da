"""Side-by-side PPO comparison: stable-baselines3 PPO and netslice's PPO, wall-clock to the same target.

Run from the repository root (needs the ``sb3`` extra: ``pip install -c constraints.txt -e ".[rl,sb3]"``)::

    python benchmarks/sb3_comparison.py [--steps 1000000] [--out benchmarks/results/sb3_comparison.json]

Four learners train on testbed-v0 with 64 networks of the same batched simulator
(:class:`~netslice.intelligence.envs.vector.SliceVectorEnv`), one after the other, for the same env-step budget
and with the same training reward ``r - cost_penalty * sum(info["cost"])`` (cost_penalty 6): netslice's PPO
(``netslice``: exploration noise added to the share, as SB3 does; ``netslice-logit``: noise on the share's
logit, the main job's default) computes it internally; stable-baselines3 PPO with SB3's defaults (``sb3``)
and with netslice's initial exploration (``sb3-matched``: ``log_std_init = -2.5`` and an initial mean action
of 0.3) get it from :class:`SliceVecEnvAdapter`, a thin adapter from the gymnasium ``VectorEnv`` (SAME_STEP
autoreset) to SB3's ``VecEnv`` interface.

Shared hyper-parameters: MLP [64, 64] for the actor and the critic, gamma 0.5, GAE lambda 0.95, 24 slots per
env per rollout, minibatch 1024, learning rate 1e-3 annealed linearly to 0 (netslice's default; SB3 gets
the same linear schedule), 4 epochs, clip 0.2, no entropy bonus, value coefficient 0.5, gradient-norm clip 0.5.
Everything else is each library's default (see :data:`NOTES`): in particular SB3's Gaussian policy has an
unbounded mean (initially 0) and ``log_std_init = 0`` (std 1), its actions are clipped to the Box [0, 1];
netslice's mean is sigmoid-squashed into [0, 1] (initially 0.3) with an initial std of exp(-2.5) and running
observation normalisation.

Along the way it records, after every update, the wall-clock of training so far (evaluation excluded), the
env steps, and the mean training reward per step over the last rollout (with its env-reward and cost parts);
every ``--eval-every`` env steps (and at the end) a deterministic evaluation of the current policy with
:func:`netslice.intelligence.evaluate.evaluate` (``--eval-days`` days x ``--eval-envs`` networks, seed
``--eval-seed``). The target is reached at the first evaluation with ``usage/mean <= --target-usage`` and
``sla/violation_rate <= --target-violation`` (by default 0.55 and 1 %; the rule-based policy scores 0.633
with no violation on the same evaluation). Everything runs on one thread.
"""

from __future__ import annotations

if __name__ == "__main__":
    # Importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads. Only when run as a script: a test
    # imports the adapter from this file, without this folder on sys.path and without changing its threads.
    import common  # noqa: F401

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3 import PPO as SB3PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.run import make_policy
from netslice.network.scenarios import load
from netslice.provenance import package_version

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "sb3_comparison.json"
SCENARIO = "testbed-v0"
FloatArray = NDArray[np.float64]

#: Hyper-parameters shared by both learners (names of netslice's PPOConfig).
SHARED: dict[str, Any] = {
    "hidden": (64, 64),
    "activation": "tanh",  # SB3's MlpPolicy default (netslice's PPOConfig default is relu)
    "gamma": 0.5,
    "gae_lambda": 0.95,
    "num_steps": 24,
    "minibatch_size": 1024,
    "learning_rate": 1e-3,
    "anneal_lr": True,
    "update_epochs": 4,
    "clip_coef": 0.2,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
}

#: The learners: netslice's PPO with share-space noise (as SB3) and with logit-space noise, SB3 with its
#: defaults, SB3 with netslice's share-space initial exploration (keyword arguments of :func:`run_ours` /
#: :func:`run_sb3`).
LEARNERS: dict[str, dict[str, Any]] = {
    "netslice": {"noise_space": "share", "init_log_std": -2.5, "init_mean": 0.3},
    "netslice-logit": {"noise_space": "logit", "init_log_std": -1.5, "init_mean": 0.1},
    "sb3": {},
    "sb3-matched": {"log_std_init": -2.5, "init_mean": 0.3},
}

NOTES: tuple[str, ...] = (
    "Both learners step the same batched simulator (SliceVectorEnv, testbed-v0); SB3 through SliceVecEnvAdapter "
    "(this file), which adds -cost_penalty * sum(info['cost']) to the reward, reports truncated envs with "
    "infos[i]['terminal_observation'] (the gymnasium final_obs) and infos[i]['TimeLimit.truncated'] = True, so "
    "that SB3 bootstraps them with V(terminal_observation) as netslice's PPO does.",
    "SB3 PPO: MlpPolicy, net_arch pi [64, 64] / vf [64, 64], n_steps 24, batch_size 1024, n_epochs 4, gamma 0.5, "
    "gae_lambda 0.95, clip_range 0.2, learning_rate linear 1e-3 -> 0 (a callable of progress_remaining, to match "
    "netslice's anneal_lr), ent_coef 0, vf_coef 0.5, max_grad_norm 0.5; SB3 defaults otherwise: Tanh, orthogonal "
    "init, state-independent log std with log_std_init 0 (std 1), unbounded Gaussian mean whose samples SB3 clips "
    "to the Box [0, 1] before the env step (the log-probability is that of the unclipped sample), no "
    "observation normalisation (no VecNormalize), per-minibatch advantage normalisation, no value clipping.",
    "sb3-matched: sb3 with netslice's initial exploration, log_std_init -2.5 and the bias of SB3's action layer "
    "set to 0.3 after construction (its weights have gain 0.01, so the initial mean action is about 0.3); the "
    "mean stays unbounded and the samples clipped.",
    "Both learners use [64, 64] hidden layers here (the shared value); netslice's PPOConfig default may differ "
    "(128 x 128 at the time of writing): see results.netslice.config.hidden.",
    "netslice PPO: PPOConfig defaults besides the shared values, cost_penalty and the exploration: sigmoid-squashed "
    "mean in [0, 1] (initial mean 0.3), initial log std -2.5, sampled action (mean + Gaussian noise) clipped to "
    "[0, 1] before the env step, running observation normalisation.",
    "netslice-logit: the same, but the Gaussian is over the share's logit (initial mean 0.1, initial log std -1.5, "
    "samples squashed by the sigmoid): exploration relative to the share. SB3 has no such option (its "
    "squash_output needs gSDE), so it is compared with the share-space learners only.",
    "Minibatches: one rollout holds 24 x 64 = 1536 samples. SB3 and netslice's PPO both split each epoch's "
    "permutation into a 1024 and a truncated 512 minibatch (2 gradient steps per epoch).",
    "Learning-rate schedule: SB3 computes progress_remaining after the rollout, so its update u of N uses "
    "1e-3 * (1 - (u + 1) / N), netslice's 1e-3 * (1 - u / N).",
    "Wall-clock = training time only: rollouts and updates, from the first rollout; the evaluations are timed "
    "separately (eval_wall_s) and excluded. Time to target has the resolution of the evaluation interval.",
    "training reward per step = mean over the last rollout of env reward - cost_penalty * summed clipped cost, "
    "without the truncation bootstrap; env_reward = minus the weighted usage of the exploring policy.",
    "One thread (torch.set_num_threads(1), OMP/OPENBLAS/MKL_NUM_THREADS=1); the machine may be shared: see "
    "machine.loadavg_1_5_15.",
)


# ------------------------------------------------------------------------------------------------ adapter


class SliceVecEnvAdapter(VecEnv):
    """SB3 ``VecEnv`` over a :class:`SliceVectorEnv` (one batched simulator; no Python loop over envs to step).

    The gymnasium env auto-resets in the same step (SAME_STEP): where an episode ends, the returned observation
    is already the next episode's first, and the last one is in ``info["final_obs"]``. SB3 expects exactly this
    too, with the last observation in ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]``
    set for time limits; ``dones = terminated | truncated``.

    The reward returned to SB3 is ``reward - cost_penalty * info["cost"].sum(axis=1)`` (float32, like SB3's
    ``DummyVecEnv``); each env's info holds its ``cost`` row and its unpenalised ``env_reward``. Rollout
    statistics (mean env reward, cost and violation rate) accumulate until :meth:`pop_stats`.

    Seeding: the batched env has one random generator, so :meth:`reset` passes only the first of the seeds set
    by ``seed()`` (SB3 sets ``seed + i`` for env ``i``). ``get_attr``/``env_method`` act on the one batched env
    and repeat its answer for every index requested.

    Args:
        envs: the batched environment (its single spaces become the VecEnv's spaces).
        cost_penalty: weight of the summed clipped SLA cost subtracted from the reward.
    """

    def __init__(self, envs: SliceVectorEnv, cost_penalty: float = 0.0) -> None:
        self.envs = envs
        self.cost_penalty = float(cost_penalty)
        self._actions: FloatArray | None = None
        self._stats = np.zeros(4)  # steps, env reward sum, summed-cost sum, violating (env, slot) pairs
        super().__init__(envs.num_envs, envs.single_observation_space, envs.single_action_space)

    def reset(self) -> VecEnvObs:
        """Reset every env (with the first seed set by ``seed()``, if any) and return the observations."""
        obs, info = self.envs.reset(seed=self._seeds[0])
        self.reset_infos = [dict(info) for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: NDArray[Any]) -> None:
        """Store the actions ``(num_envs, n_act)`` for :meth:`step_wait`."""
        self._actions = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)

    def step_wait(self) -> VecEnvStepReturn:
        """Step the batched env with the stored actions; convert to SB3's ``(obs, rewards, dones, infos)``."""
        if self._actions is None:
            raise RuntimeError("step_wait: call step_async first")
        obs, reward, terminated, truncated, info = self.envs.step(self._actions)
        self._actions = None
        env_reward = np.asarray(reward, dtype=np.float64)
        cost = np.asarray(info["cost"], dtype=np.float64)
        dones = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
        time_limit = np.asarray(truncated, dtype=bool) & ~np.asarray(terminated, dtype=bool)
        self._stats += (self.num_envs, env_reward.sum(), cost.sum(), (cost > 0.0).any(axis=1).sum())
        infos: list[dict[str, Any]] = [
            {"cost": cost[i], "env_reward": float(env_reward[i]), "TimeLimit.truncated": bool(time_limit[i])}
            for i in range(self.num_envs)
        ]
        if dones.any():
            final_obs = info["final_obs"]
            for i in np.flatnonzero(dones):
                infos[i]["terminal_observation"] = np.asarray(final_obs[i])
        rewards = (env_reward - self.cost_penalty * cost.sum(axis=1)).astype(np.float32)
        return obs, rewards, dones, infos

    def pop_stats(self) -> dict[str, float]:
        """Per-step means since the last call: env reward, summed cost, violation rate, training reward.

        Returns:
            ``steps``, ``env_reward``, ``cost``, ``violation_rate`` and ``train_reward`` (NaN without steps).
        """
        steps, rew, cost, viol = self._stats
        self._stats = np.zeros(4)
        n = steps if steps > 0 else float("nan")
        return {
            "steps": float(steps),
            "env_reward": rew / n,
            "cost": cost / n,
            "violation_rate": viol / n,
            "train_reward": (rew - self.cost_penalty * cost) / n,
        }

    def close(self) -> None:
        """Close the batched env."""
        self.envs.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The batched env's attribute, once per index."""
        value = getattr(self.envs, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the batched env (shared by every index)."""
        setattr(self.envs, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call a method of the batched env once; its result is repeated for every index."""
        result = getattr(self.envs, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gymnasium.Wrapper[Any, Any, Any, Any]], indices: VecEnvIndices = None
    ) -> list[bool]:
        """Never: the batched env is not a gymnasium wrapper."""
        return [False for _ in self._indices(indices)]

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)


class SB3Policy:
    """An SB3 model as a netslice policy: the deterministic action (the Gaussian mean clipped to [0, 1])."""

    def __init__(self, model: BaseAlgorithm) -> None:
        self.model = model

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """Deterministic action for a batch of flat observations."""
        action, _ = self.model.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
        return np.clip(np.asarray(action, dtype=np.float64), 0.0, 1.0)


# --------------------------------------------------------------------------------------------- recording


@dataclass
class Target:
    """The target of the race: deterministic evaluation with low usage and few SLA violations.

    Attributes:
        usage: reached when ``usage/mean <= usage``.
        violation_rate: ... and ``sla/violation_rate <= violation_rate``.
    """

    usage: float
    violation_rate: float

    def reached(self, summary: dict[str, float]) -> bool:
        """Whether an evaluation summary meets the target."""
        return summary["usage/mean"] <= self.usage and summary["sla/violation_rate"] <= self.violation_rate


@dataclass
class Recorder:
    """Training curve, periodic evaluations and the wall-clock to the target of one learner.

    Args:
        name: learner name.
        target: the target.
        eval_every: env steps between evaluations.
        evaluator: ``policy -> evaluation summary``.
        n_envs: training envs (for the record).
    """

    name: str
    target: Target
    eval_every: int
    evaluator: Callable[[Any], dict[str, float]]
    n_envs: int
    curve: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    train_wall_s: float = 0.0
    eval_wall_s: float = 0.0
    reached: dict[str, float] | None = None
    _next_eval: int = 0
    _t_last: float = 0.0

    def start(self) -> None:
        """Start the training clock."""
        self._next_eval = self.eval_every
        self._t_last = time.perf_counter()

    def update_done(self, env_steps: int, rollout: dict[str, float], policy: Any, final: bool = False) -> None:
        """Record one finished update; evaluate when due (outside the training clock).

        Args:
            env_steps: env steps so far.
            rollout: ``train_reward``, ``env_reward``, ``cost``, ``violation_rate`` of the last rollout.
            policy: the current policy (``act(obs)``).
            final: the last update (always evaluated).
        """
        now = time.perf_counter()
        self.train_wall_s += now - self._t_last
        self.curve.append({"env_steps": float(env_steps), "train_wall_s": self.train_wall_s, **rollout})
        if final or env_steps >= self._next_eval:
            while self._next_eval <= env_steps:
                self._next_eval += self.eval_every
            t = time.perf_counter()
            summary = self.evaluator(policy)
            self.eval_wall_s += time.perf_counter() - t
            row = {
                "env_steps": float(env_steps),
                "train_wall_s": self.train_wall_s,
                "usage/mean": summary["usage/mean"],
                "sla/violation_rate": summary["sla/violation_rate"],
                "return/mean": summary["return/mean"],
            }
            self.evals.append(row)
            if self.reached is None and self.target.reached(summary):
                self.reached = row
            print(
                f"  {self.name:8} {env_steps:>9,d} steps {self.train_wall_s:7.1f} s  train reward "
                f"{rollout['train_reward']:+.4f}  eval usage {row['usage/mean']:.4f} "
                f"viol {row['sla/violation_rate']:.2%}" + ("  <- target" if self.reached is row else ""),
                file=sys.stderr,
                flush=True,
            )
        self._t_last = time.perf_counter()

    def result(self, extra: dict[str, Any]) -> dict[str, Any]:
        """Summary and curves for the JSON."""
        steps = int(self.curve[-1]["env_steps"]) if self.curve else 0
        last = self.evals[-1] if self.evals else {}
        return {
            "env_steps": steps,
            "updates": len(self.curve),
            "train_wall_s": self.train_wall_s,
            "eval_wall_s": self.eval_wall_s,
            "train_env_steps_per_s": steps / self.train_wall_s if self.train_wall_s > 0 else None,
            "target_reached": self.reached is not None,
            "wall_s_to_target": None if self.reached is None else self.reached["train_wall_s"],
            "env_steps_to_target": None if self.reached is None else int(self.reached["env_steps"]),
            "final_eval": last,
            "final_train_reward": self.curve[-1]["train_reward"] if self.curve else None,
            "evals": self.evals,
            "curve": self.curve,
            **extra,
        }


class _SB3Hook(BaseCallback):
    """Feeds a :class:`Recorder` after every SB3 update (at the next rollout's start, and at the end)."""

    def __init__(self, recorder: Recorder, adapter: SliceVecEnvAdapter) -> None:
        super().__init__(verbose=0)
        self.recorder = recorder
        self.adapter = adapter
        self._first = True

    def _on_training_start(self) -> None:
        self.recorder.start()

    def _on_rollout_start(self) -> None:
        if self._first:  # nothing trained yet
            self._first = False
            return
        self._record(final=False)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self._record(final=True)

    def _record(self, final: bool) -> None:
        stats = self.adapter.pop_stats()
        stats.pop("steps")
        self.recorder.update_done(int(self.model.num_timesteps), stats, SB3Policy(self.model), final=final)


# ------------------------------------------------------------------------------------------------ runs


def make_evaluator(days: int, n_envs: int, seed: int) -> Callable[[Any], dict[str, float]]:
    """``policy -> evaluate(...).summary()`` on fresh testbed-v0 envs (same seed every time)."""

    def run(policy: Any) -> dict[str, float]:
        return evaluate(policy, "policy", SCENARIO, days=days, n_envs=n_envs, seed=seed).summary()

    return run


def run_ours(
    n_updates: int, n_envs: int, seed: int, cost_penalty: float, recorder: Recorder, **exploration: Any
) -> dict[str, Any]:
    """Train netslice's PPO for ``n_updates`` updates, recording into ``recorder``.

    ``exploration``: PPOConfig fields of the learner (``noise_space``, ``init_log_std``, ``init_mean``).
    """
    torch.set_num_threads(1)
    cfg = PPOConfig(
        total_steps=n_updates * SHARED["num_steps"] * n_envs,
        seed=seed,
        cost_penalty=cost_penalty,
        checkpoint_every=10**9,  # only the final checkpoint, written after the last record
        **SHARED,
        **exploration,
    )
    envs = SliceVectorEnv(n_envs, SCENARIO, seed=seed)
    with tempfile.TemporaryDirectory() as run_dir:
        ppo = PPO(cfg, envs, run_dir)

        def on_update(update: int, total: int, row: dict[str, float]) -> None:
            rollout = {
                "train_reward": row["charts/reward"] - cost_penalty * row["charts/cost"],
                "env_reward": row["charts/reward"],
                "cost": row["charts/cost"],
                "violation_rate": row["sla/violation_rate"],
            }
            recorder.update_done(int(row["charts/global_step"]), rollout, ppo.policy(), final=update == total)

        recorder.start()
        ppo.train(on_update=on_update)
    return recorder.result({"config": {**asdict(cfg), "hidden": list(cfg.hidden)}})


def run_sb3(
    n_updates: int,
    n_envs: int,
    seed: int,
    cost_penalty: float,
    recorder: Recorder,
    log_std_init: float | None = None,
    init_mean: float | None = None,
) -> dict[str, Any]:
    """Train stable-baselines3 PPO for ``n_updates`` updates on the adapter, recording into ``recorder``.

    Args:
        n_updates: rollouts (and updates) to run.
        n_envs: training envs.
        seed: seed of SB3 and of the env.
        cost_penalty: weight of the summed cost in the adapter's reward.
        recorder: where the curve and the evaluations go.
        log_std_init: SB3's ``log_std_init`` (None: SB3's default, 0).
        init_mean: when set, the bias of SB3's action layer starts at this value (its weights are already
            near 0, gain 0.01), so that the initial mean action is about ``init_mean`` as in netslice's PPO.
    """
    torch.set_num_threads(1)
    adapter = SliceVecEnvAdapter(SliceVectorEnv(n_envs, SCENARIO, seed=seed), cost_penalty=cost_penalty)
    lr = float(SHARED["learning_rate"])
    hidden = list(SHARED["hidden"])
    policy_kwargs: dict[str, Any] = {"net_arch": {"pi": hidden, "vf": hidden}}
    if log_std_init is not None:
        policy_kwargs["log_std_init"] = log_std_init

    def schedule(progress_remaining: float) -> float:
        return lr * progress_remaining

    with warnings.catch_warnings():
        # "mini-batch size 1024 but RolloutBuffer of size 1536": the truncated minibatch is documented in NOTES.
        warnings.filterwarnings("ignore", message=".*mini-batch size.*")
        model = SB3PPO(
            "MlpPolicy",
            adapter,
            learning_rate=schedule if SHARED["anneal_lr"] else lr,
            n_steps=SHARED["num_steps"],
            batch_size=SHARED["minibatch_size"],
            n_epochs=SHARED["update_epochs"],
            gamma=SHARED["gamma"],
            gae_lambda=SHARED["gae_lambda"],
            clip_range=SHARED["clip_coef"],
            ent_coef=SHARED["ent_coef"],
            vf_coef=SHARED["vf_coef"],
            max_grad_norm=SHARED["max_grad_norm"],
            policy_kwargs=policy_kwargs,
            seed=seed,
            device="cpu",
            verbose=0,
        )
    if init_mean is not None:
        layer = model.policy.action_net
        assert isinstance(layer, torch.nn.Linear)
        torch.nn.init.constant_(layer.bias, init_mean)
    total = n_updates * SHARED["num_steps"] * n_envs
    model.learn(total_timesteps=total, callback=_SB3Hook(recorder, adapter))
    config = {
        "policy": "MlpPolicy",
        "policy_kwargs": policy_kwargs,
        "n_steps": model.n_steps,
        "batch_size": model.batch_size,
        "n_epochs": model.n_epochs,
        "gamma": model.gamma,
        "gae_lambda": model.gae_lambda,
        "learning_rate": f"linear {lr:g} -> 0" if SHARED["anneal_lr"] else lr,
        "clip_range": SHARED["clip_coef"],
        "ent_coef": model.ent_coef,
        "vf_coef": model.vf_coef,
        "max_grad_norm": model.max_grad_norm,
        "normalize_advantage": model.normalize_advantage,
        "use_sde": model.use_sde,
        "log_std_init": policy_kwargs.get("log_std_init", 0.0),
        "action_net_bias_init": init_mean if init_mean is not None else 0.0,
        "seed": seed,
        "cost_penalty": cost_penalty,
    }
    return recorder.result({"config": config})


def print_summary(results: dict[str, dict[str, Any]], target: Target) -> None:
    """Plain-text table: wall-clock to target, throughput and the final evaluation of each learner."""
    print(f"target: eval usage/mean <= {target.usage:g} and sla/violation_rate <= {target.violation_rate:g}")
    head = (
        f"{'learner':10} {'env steps':>10} {'train s':>8} {'steps/s':>9} {'to target s':>12} {'at steps':>10} "
        f"{'final usage':>12} {'final viol':>11} {'last train reward':>18}"
    )
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        to_target = "not reached" if r["wall_s_to_target"] is None else f"{r['wall_s_to_target']:.1f}"
        at = "-" if r["env_steps_to_target"] is None else f"{r['env_steps_to_target']:,d}"
        final = r["final_eval"]
        print(
            f"{name:10} {r['env_steps']:10,d} {r['train_wall_s']:8.1f} {r['train_env_steps_per_s']:9,.0f} "
            f"{to_target:>12} {at:>10} {final['usage/mean']:12.4f} {final['sla/violation_rate']:11.2%} "
            f"{r['final_train_reward']:+18.4f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run both learners, print the summary and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=1_000_000, help="env-step budget of each learner")
    parser.add_argument("--n-envs", type=int, default=64, help="training envs (networks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cost-penalty", type=float, default=6.0)
    parser.add_argument("--eval-every", type=int, default=76_800, help="env steps between evaluations")
    parser.add_argument("--eval-days", type=int, default=3)
    parser.add_argument("--eval-envs", type=int, default=8)
    parser.add_argument("--eval-seed", type=int, default=1000)
    parser.add_argument("--target-usage", type=float, default=0.55)
    parser.add_argument("--target-violation", type=float, default=0.01)
    parser.add_argument("--learners", nargs="+", choices=tuple(LEARNERS), default=list(LEARNERS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from common import loadavg, machine_info, write_json

    batch = SHARED["num_steps"] * args.n_envs
    n_updates = max(1, args.steps // batch)
    target = Target(args.target_usage, args.target_violation)
    evaluator = make_evaluator(args.eval_days, args.eval_envs, args.eval_seed)
    machine = machine_info()
    machine["torch"] = torch.__version__
    machine["stable_baselines3"] = package_version("stable-baselines3")
    machine["gymnasium"] = gymnasium.__version__
    baselines = {}
    for name in ("rule", "static"):
        baselines[name] = {
            k: v
            for k, v in evaluator(make_policy(name, load(SCENARIO))).items()
            if k in ("usage/mean", "sla/violation_rate")
        }
    print(f"{n_updates} updates x {batch} env steps per learner; baselines {baselines}", file=sys.stderr)
    results: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for learner in args.learners:
        rec = Recorder(learner, target, args.eval_every, evaluator, args.n_envs)
        print(f"{learner}:", file=sys.stderr, flush=True)
        load_before = loadavg()
        if learner.startswith("netslice"):
            results[learner] = run_ours(n_updates, args.n_envs, args.seed, args.cost_penalty, rec, **LEARNERS[learner])
        else:
            results[learner] = run_sb3(n_updates, args.n_envs, args.seed, args.cost_penalty, rec, **LEARNERS[learner])
        results[learner]["loadavg_before_after_1_5_15"] = [load_before, loadavg()]
    report = {
        "benchmark": "sb3_comparison",
        "machine": machine,
        "config": {
            "scenario": SCENARIO,
            "n_envs": args.n_envs,
            "env_steps_budget": n_updates * batch,
            "updates": n_updates,
            "seed": args.seed,
            "cost_penalty": args.cost_penalty,
            "shared": {**SHARED, "hidden": list(SHARED["hidden"])},
            "eval": {
                "every_env_steps": args.eval_every,
                "days": args.eval_days,
                "n_envs": args.eval_envs,
                "seed": args.eval_seed,
                "deterministic": True,
            },
        },
        "target": {
            **asdict(target),
            "rule": "first evaluation with usage/mean <= usage and sla/violation_rate <= violation_rate",
        },
        "baselines_eval": baselines,
        "notes": NOTES,
        "results": results,
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "loadavg_at_end_1_5_15": loadavg(),
    }
    print_summary(results, target)
    write_json(args.out, report)
    print(f"\nwrote {args.out} ({report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
