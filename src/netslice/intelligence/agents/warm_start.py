"""Load a checkpoint's actor into a fresh PPO agent (the warm start of :mod:`.warm_config`).

Only the actor (the policy network) and the observation statistics are taken: the critic of a cloned actor was
never trained, and a critic pre-trained elsewhere (in simulation) values another network; the run's own critics
learn first, on the warm actor's rollouts (:attr:`~.warm_config.WarmStartConfig.critic_updates`).

The checkpoint must describe the same actor: the same observation and action sizes, hidden layers, activation,
noise space and initial mean (the sigmoid's bias) as the run's PPO configuration; a mismatch is a
:class:`~.checkpoint.CheckpointError` naming each differing field.
"""

from __future__ import annotations

from pathlib import Path

import torch

from netslice.intelligence.agents import checkpoint as ckpt
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.ppo_config import PPOConfig

#: PPO fields that shape the actor: a warm start needs the checkpoint's equal to the run's.
ACTOR_FIELDS = ("hidden", "activation", "noise_space", "init_mean", "norm_obs", "day_history")
#: What to do about a checkpoint that cannot warm-start a run.
WARM_HINT = (
    "give --warm-actor a run folder or checkpoint.pt of `netslice imitate` or `netslice train` made with the same "
    "network shape (hidden, activation, noise_space, init_mean, norm_obs, day_history) on a scenario with the same "
    "slices"
)


def checkpoint_path(actor: str | Path) -> Path:
    """The checkpoint file of ``actor``: the file itself, or ``checkpoint.pt`` in a run folder."""
    path = Path(actor)
    return path / "checkpoint.pt" if path.is_dir() else path


def load_actor(agent: ActorCritic, cfg: PPOConfig, actor: str | Path, log_std: float | None) -> RunningMeanStd | None:
    """Copy the actor of checkpoint ``actor`` into ``agent``; return its observation statistics.

    Args:
        agent: the run's fresh actor-critic (its critic is left as it is).
        cfg: the run's PPO configuration.
        actor: the checkpoint (or run folder).
        log_std: the exploration's log standard deviation to start from (None: the checkpoint's).

    Raises:
        CheckpointError: the file is not a usable PPO checkpoint, or its actor has another shape (the message names
            the differing fields).
    """
    path = checkpoint_path(actor)
    data = ckpt.load_checkpoint(path, ckpt.POLICY_KEYS, WARM_HINT)
    saved = {key: data["config"].get(key, getattr(PPOConfig(), key)) for key in ACTOR_FIELDS}
    wanted = {key: getattr(cfg, key) for key in ACTOR_FIELDS}
    ckpt.check_same_config(path, {"ppo": saved}, {"ppo": wanted}, WARM_HINT)
    n_obs, n_act = agent.n_obs, agent.n_act
    if (int(data["n_obs"]), int(data["n_act"])) != (n_obs, n_act):
        raise ckpt.CheckpointError(
            f"checkpoint {path}: an actor for {data['n_obs']} observations and {data['n_act']} actions, this run "
            f"has {n_obs} and {n_act}; {WARM_HINT}"
        )
    with ckpt.restoring(path, WARM_HINT):
        state = data["agent"]
        agent.actor.load_state_dict({k.removeprefix("actor."): v for k, v in state.items() if k.startswith("actor.")})
        with torch.no_grad():
            agent.log_std.copy_(state["log_std"] if log_std is None else torch.full_like(agent.log_std, log_std))
        return RunningMeanStd.from_state_dict(data["obs_rms"]) if data["obs_rms"] else None
