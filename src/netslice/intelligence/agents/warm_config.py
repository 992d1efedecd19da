"""Warm-start settings (:class:`WarmStartConfig`): start PPO from a cloned or pre-trained actor (issue 13).

The actor of a checkpoint (a behaviour-cloning run of ``netslice imitate``, or a ``netslice train`` run, e.g.
pre-trained in simulation) becomes PPO's starting actor, with its observation statistics. Starting PPO from a
good actor with an untrained critic is known to collapse in the first updates: the advantages the untrained
critic gives are noise, and the clipped surrogate follows them away from the clone. So the first
``critic_updates`` updates train the critics alone, on the cloned policy's own rollouts (the actor and its
exploration noise do not move), and exploration starts small (``log_std``). The slots of these updates are played
on the network like any other: they are counted in the training ledger. The Lagrange multipliers do not step
during the warm-up: the frozen actor cannot answer them, so they would integrate its violations and release the
actor under a wound-up multiplier (measured on testbed-v0, PID from a forecast-planner clone: the usage went from
0.17 to 0.34 in the updates after the warm-up, with 20 % of slots violating). Nor do the observation statistics
move (``freeze_obs``): a clone's data has features its teacher never varied (their variance is floored,
:data:`~netslice.intelligence.imitation.bc.VAR_FLOOR`), the exploration's do vary them, and the running statistics
then re-scale those inputs under the frozen actor (measured, same run: violations 9.9 % in the first update and
27 % in the tenth, with the actor unchanged). And the actor fine-tunes with a smaller step (``learning_rate``,
1e-4 against PPO's 1e-3): with exploration this small, Adam's first full-size steps moved the clone's logits by
many standard deviations (measured, 64 networks, log_std -3: approx_kl 970 in the first actor update and 73 % of
slots violating in the next, at 1e-3; 3.9, then about 0.1, with violations staying at the clone's 2 %, at 1e-4).

On the command line the fields are prefixed ``warm_`` (``--warm-actor``, ``--warm-critic-updates``,
``--warm-log-std``). The loading itself is :mod:`.warm_start`. This module imports neither torch nor numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

from netslice.errors import ConfigError
from netslice.intelligence.agents.safety_config import check_range


@dataclass(frozen=True)
class WarmStartConfig:
    """Where PPO's actor starts from, and how the critics catch up before it moves.

    Attributes:
        actor: a checkpoint (or run folder with ``checkpoint.pt``) whose actor and observation statistics PPO
            starts from: ``netslice imitate``'s clone or a ``netslice train`` run (None: a fresh actor).
        critic_updates: first updates in which only the critics learn (the actor is frozen), with an actor given.
        log_std: log standard deviation of the exploration noise to start from with an actor given (small: the
            clone is already good; None keeps the checkpoint's), in [-10, 2].
        freeze_obs: keep the checkpoint's observation statistics for the whole run (with an actor given), so
            that the actor's inputs keep the meaning they had when it was trained.
        learning_rate: Adam step size of the whole run with an actor given (annealed as PPO's), in (0, 1]; None
            keeps PPO's ``learning_rate``.
    """

    actor: str | None = None
    critic_updates: int = 10
    log_std: float | None = -3.0
    freeze_obs: bool = True
    learning_rate: float | None = 1e-4

    def __post_init__(self) -> None:
        check_range("critic_updates", self.critic_updates, 0.0)
        if self.log_std is not None:
            check_range("log_std", self.log_std, -10.0, 2.0)
        if self.learning_rate is not None and check_range("learning_rate", self.learning_rate, 0.0, 1.0) == 0.0:
            raise ConfigError(f"learning_rate: must be in (0, 1], got {self.learning_rate!r}")

    @property
    def enabled(self) -> bool:
        """Whether PPO starts from a given actor."""
        return self.actor is not None

    def rate(self, ppo_rate: float) -> float:
        """The Adam step size of a run whose PPO configuration has ``ppo_rate``."""
        return self.learning_rate if self.enabled and self.learning_rate is not None else ppo_rate

    def actor_frozen(self, update: int) -> bool:
        """Whether update ``update`` (0-based) trains the critics alone."""
        return self.enabled and update < self.critic_updates
