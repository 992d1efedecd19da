"""A trained PPO agent as a policy (:class:`PPOPolicy`), its network (:func:`new_agent`) and its checkpoint.

A policy checkpoint holds :data:`~.checkpoint.POLICY_KEYS`: the PPO configuration of the network, the observation and
action sizes, the network's weights and the observation statistics. :class:`~.ppo.PPO` writes them in its training
checkpoint; :meth:`PPOPolicy.save` writes them alone (``netslice imitate``'s clone); :meth:`PPOPolicy.load` and a warm
start (:mod:`.warm_start`) read them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.agents import checkpoint as ckpt
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.envs import day_history
from netslice.intelligence.envs.day_history import DayHistory

FloatArray = NDArray[np.float64]

#: What to do about a checkpoint that cannot be evaluated.
EVAL_HINT = "pass a run folder or checkpoint.pt written by `netslice train`"


def new_agent(cfg: PPOConfig, n_obs: int, n_act: int, n_costs: int = 0) -> ActorCritic:
    """A fresh actor-critic with the architecture and exploration of ``cfg`` (a cost critic if ``n_costs`` > 0)."""
    return ActorCritic(
        n_obs, n_act, tuple(cfg.hidden), cfg.log_std0, cfg.init_mean, cfg.noise_space, cfg.activation, n_costs
    )  # fmt: skip


class PPOPolicy:
    """A trained PPO agent as a :class:`~netslice.intelligence.policies.base.Policy` (deterministic mean).

    Args:
        agent: the actor-critic.
        obs_rms: its observation statistics (``None``: observations are not normalised).
        scenario: the scenario it was trained on, where known (named by errors).
        agents: the run's ``--agents`` mode, where known (named by errors).
        day_history: the :meth:`~netslice.intelligence.envs.day_history.DayHistory.spec` of an agent trained with
            the day-history features (None: without); the policy then keeps each network's history while it acts
            (:meth:`reset` clears them: call it before a new set of networks, as ``evaluate`` does).
    """

    def __init__(
        self, agent: ActorCritic, obs_rms: RunningMeanStd | None, *, scenario: str | None = None,
        agents: str | None = None, day_history: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self.agent = agent
        self.obs_rms = obs_rms
        self.scenario = scenario
        self.agents = agents
        self.day_history = day_history
        self._history: DayHistory | None = None

    def reset(self) -> None:
        """Forget the networks' day histories (without the day-history features: nothing to forget)."""
        self._history = None

    def inputs(self, obs: FloatArray) -> FloatArray:
        """The agent's raw input: ``obs``, with the day-history features when it was trained with them."""
        if self.day_history is None:
            return obs
        if self._history is None or self._history.n_envs != obs.shape[0]:
            self._history = DayHistory.from_spec(self.day_history, obs.shape[0])
        return self._history.features(obs)

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """Mean action for a batch of flat observations.

        Raises:
            ConfigError: the observations are not of the size the agent was trained on (another scenario's env).
        """
        o = np.asarray(obs, dtype=np.float64)
        extra = 0 if self.day_history is None else day_history.n_features(len(self.day_history["scale"]))
        if o.ndim == 0 or o.shape[-1] + extra != self.agent.n_obs:
            got = "a scalar" if o.ndim == 0 else f"{o.shape[-1]} values"
            where = f" on {self.scenario}" if self.scenario else ""
            hint = (
                "a run of per-slice agents: evaluate it as per-slice:PATH"
                if self.agents == "per-slice"
                else "a scenario other than the one it was trained on?"
            )
            raise ConfigError(
                f"policy: the agent was trained{where} with observations of {self.agent.n_obs - extra} values and "
                f"actions of {self.agent.n_act}, got observations of {got} ({hint})"
            )
        if self.day_history is not None:
            o = self.inputs(o) if o.ndim == 2 else self.inputs(o[None])[0]
        x = self.obs_rms.normalize(o) if self.obs_rms is not None else o
        with torch.no_grad():
            mean = self.agent.mean(torch.as_tensor(x, dtype=torch.float32))
        return np.asarray(mean.numpy(), dtype=np.float64)

    def save(self, path: str | Path, cfg: PPOConfig, **extra: Any) -> Path:
        """Write the policy as a checkpoint :meth:`load` (and a warm start) reads; ``cfg``: its network's PPO config.

        ``extra``: further entries kept with it (e.g. how it was made).
        """
        rms = None if self.obs_rms is None else self.obs_rms.state_dict()
        agent = self.agent
        return ckpt.save_checkpoint(path, {
            "config": asdict(cfg), "n_obs": agent.n_obs, "n_act": agent.n_act, "n_costs": agent.n_costs,
            "agent": agent.state_dict(), "obs_rms": rms, "day_history_spec": self.day_history, **extra,
        })  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> PPOPolicy:
        """Load the policy from a checkpoint written by :class:`PPO`.

        Raises:
            CheckpointError: the file is not a usable PPO checkpoint (names the file and the reason).
        """
        data = ckpt.load_checkpoint(path, ckpt.POLICY_KEYS, EVAL_HINT)
        with ckpt.restoring(path, EVAL_HINT):
            cfg = PPOConfig(**data["config"])
            agent = new_agent(cfg, int(data["n_obs"]), int(data["n_act"]), int(data.get("n_costs", 0)))
            agent.load_state_dict(data["agent"])
            rms = RunningMeanStd.from_state_dict(data["obs_rms"]) if data.get("obs_rms") else None
        run = data.get("run_config")
        run = run if isinstance(run, dict) else {}
        scenario, agents = run.get("scenario"), run.get("agents")
        spec = data.get("day_history_spec")
        return cls(
            agent, rms, scenario=scenario if isinstance(scenario, str) else None, day_history=spec,
            agents=agents if isinstance(agents, str) else None,
        )  # fmt: skip
