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
    """

    def __init__(
        self, agent: ActorCritic, obs_rms: RunningMeanStd | None, *, scenario: str | None = None,
        agents: str | None = None,
    ) -> None:  # fmt: skip
        self.agent = agent
        self.obs_rms = obs_rms
        self.scenario = scenario
        self.agents = agents

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """Mean action for a batch of flat observations.

        Raises:
            ConfigError: the observations are not of the size the agent was trained on (another scenario's env).
        """
        o = np.asarray(obs, dtype=np.float64)
        if o.ndim == 0 or o.shape[-1] != self.agent.n_obs:
            got = "a scalar" if o.ndim == 0 else f"{o.shape[-1]} values"
            where = f" on {self.scenario}" if self.scenario else ""
            hint = (
                "a run of per-slice agents: evaluate it as per-slice:PATH"
                if self.agents == "per-slice"
                else "a scenario other than the one it was trained on?"
            )
            raise ConfigError(
                f"policy: the agent was trained{where} with observations of {self.agent.n_obs} values and actions "
                f"of {self.agent.n_act}, got observations of {got} ({hint})"
            )
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
            "agent": agent.state_dict(), "obs_rms": rms, **extra,
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
        return cls(
            agent, rms, scenario=scenario if isinstance(scenario, str) else None,
            agents=agents if isinstance(agents, str) else None,
        )  # fmt: skip
