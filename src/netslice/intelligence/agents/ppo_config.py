"""The PPO hyper-parameters (:class:`PPOConfig`): the one place that defines each of them and its default.

``netslice train`` derives its PPO options from these fields (names, defaults, and the help text of the
``Attributes:`` section below), so a default changed here changes the command line too.

This module imports no torch (the command line reads it at start-up): the activation and the noise space are
plain strings at run time, checked where the networks are built (:mod:`.nets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netslice.intelligence.agents.safety_config import check_range

if TYPE_CHECKING:
    from netslice.intelligence.agents.nets import Activation, NoiseSpace
else:  # at run time (see the module docstring): what typing.get_type_hints and the command line see
    Activation = NoiseSpace = str


@dataclass
class PPOConfig:
    """PPO hyper-parameters (names as in the PPO paper and CleanRL).

    Attributes:
        total_steps: env steps (slots x networks) to train for.
        num_steps: slots per env per rollout.
        learning_rate: Adam step size (annealed linearly to 0 when ``anneal_lr``).
        anneal_lr: anneal the learning rate.
        gamma: discount factor (0.5: a slot's allocation mostly affects that slot; queues and the
            enforcement delay carry a little over).
        gae_lambda: GAE lambda.
        update_epochs: passes over each rollout.
        minibatch_size: samples per gradient step.
        clip_coef: PPO ratio clip epsilon.
        ent_coef: entropy bonus.
        vf_coef: value loss weight.
        max_grad_norm: gradient clipping.
        hidden: hidden layer sizes of actor and critic.
        activation: hidden-layer activation of actor and critic (``"tanh"`` or ``"relu"``).
        init_log_std: initial log standard deviation of the exploration noise (None: the default of
            the noise space, :data:`~netslice.intelligence.agents.nets.INIT_LOG_STD`).
        init_mean: initial policy mean of every action (before learning).
        clip_noise: H of the clipped exploration (None: plain Gaussian).
        final_log_std: cap the exploration noise's log standard deviation on a schedule: linearly from the initial
            value (``init_log_std`` in force) at the first update to this value at the last (None: no cap, the
            learned value). The Lagrangian holds the *stochastic* policy to its violation limit, so the margin it
            learns covers the noise as well as the traffic; a smaller final noise brings the deterministic policy
            played after training to the operating point it was trained at. Measured on the per-slice agent
            (metro-dynamic-v0, benchmarks/README.md): the capped agents used more, the exploration finds the
            smaller allocations.
        noise_space: add the exploration noise to the share (``"share"``, as in the paper) or to its
            logit (``"logit"``: noise relative to the share, so small shares are explored finely).
        cost_penalty: weight of the summed SLA cost in the training reward.
        norm_obs: normalise observations with running statistics.
        day_history: append the day-history features to the actor's and critics' input (the day's measured
            traffic against the diurnal profile, :mod:`~netslice.intelligence.envs.day_history`); the env's
            observation is unchanged, the agent keeps the history of each network it acts on.
        seed: seed of torch, the noise and the env.
        checkpoint_every: updates between checkpoints.
    """

    total_steps: int = 6_000_000
    num_steps: int = 24
    learning_rate: float = 1e-3
    anneal_lr: bool = True
    gamma: float = 0.5
    gae_lambda: float = 0.95
    update_epochs: int = 4
    minibatch_size: int = 1024
    clip_coef: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (128, 128)
    activation: Activation = "relu"
    init_log_std: float | None = None
    init_mean: float = 0.1
    clip_noise: float | None = None
    final_log_std: float | None = None
    noise_space: NoiseSpace = "logit"
    cost_penalty: float = 8.0
    norm_obs: bool = True
    day_history: bool = False
    seed: int = 0
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        if self.final_log_std is not None:
            self.final_log_std = check_range("final_log_std", self.final_log_std, -10.0, 2.0)

    def log_std_cap(self, update: int, n_updates: int) -> float | None:
        """The ceiling of the exploration's log standard deviation during ``update`` (0-based) of ``n_updates``.

        Linear from :attr:`log_std0` at the first update to ``final_log_std`` at the last; None without
        ``final_log_std``.

        >>> PPOConfig(init_log_std=-1.5, final_log_std=-3.5).log_std_cap(2, 5)
        -2.5
        """
        if self.final_log_std is None:
            return None
        frac = min(max(update, 0) / max(n_updates - 1, 1), 1.0)
        return self.log_std0 + (self.final_log_std - self.log_std0) * frac

    @property
    def log_std0(self) -> float:
        """The initial log standard deviation in force (``init_log_std`` or the noise space's default)."""
        from netslice.intelligence.agents.nets import INIT_LOG_STD  # torch: only when an agent is built

        return INIT_LOG_STD.get(self.noise_space, 0.0) if self.init_log_std is None else self.init_log_std
