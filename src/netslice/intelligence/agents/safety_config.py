"""The safe-learning settings (:class:`SafetyConfig`): which constraint handling PPO trains with.

``netslice train`` derives its options from these fields as from :class:`~.ppo_config.PPOConfig`'s (the method
is ``--safety``); a run records them under ``"safety"`` in ``run_config.json``. The default, ``method="none"``,
is PPO as before (the fixed ``cost_penalty`` only), bit for bit. The multipliers themselves are
:mod:`.lagrangian` (its docstring has the update rules and the ``safety/*`` metrics).

This module imports neither torch nor numpy (the command line reads it at start-up).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netslice.errors import ConfigError

if TYPE_CHECKING:
    from netslice.intelligence.agents.lagrangian import Multipliers

#: The safety methods: none (the fixed penalty only), projected dual ascent, PID Lagrangian.
METHODS = ("none", "lagrangian", "pid")
#: The per-slice signal the cost critic learns and the Lagrangian weighs (see :class:`SafetyConfig`).
COST_SIGNALS = ("indicator", "graded")
#: How slots a shield switched to the baseline enter PPO's policy loss (see :class:`SafetyConfig`).
SWITCHED_SAMPLES = ("keep", "exclude", "corrected", "own-usage", "estimated", "keep-played")
#: The modes per-slice agents support (:mod:`.slice_shield`; the evaluator's expectation modes are not carried over).
PER_SLICE_SWITCHED = ("keep", "own-usage", "exclude", "keep-played")


def check_range(name: str, value: float, low: float, high: float = math.inf, high_open: bool = False) -> float:
    """``value`` as a float within ``[low, high]`` (``[low, high)`` with ``high_open``), else a ConfigError.

    The one rule behind every numeric setting of the multipliers, here and in :mod:`.lagrangian`; the message
    names the field and the rule.
    """
    v = float(value)
    if not (math.isfinite(v) and low <= v and (v < high if high_open else v <= high)):
        end = ")" if high_open else "]"
        rule = f"a finite number of at least {low:g}" if high == math.inf else f"in [{low:g}, {high:g}{end}"
        raise ConfigError(f"{name}: must be {rule}, got {value!r}")
    return v


@dataclass(frozen=True)
class SafetyConfig:
    """Constraint handling in training: per slice, the SLA violation rate at most ``violation_limit``.

    Attributes:
        method: ``"none"`` (the fixed cost_penalty only), ``"lagrangian"`` (one multiplier per slice by
            projected dual ascent) or ``"pid"`` (PID Lagrangian multipliers, Stooke et al. 2020).
        violation_limit: the limit d on each slice's expected SLA violation rate (fraction of slots), in [0, 1].
        lambda_every: PPO updates per multiplier step (the multipliers' slower time scale).
        lambda_lr: the step size eta of the dual ascent (a plain step, not Adam). A multiplier climbs by up to
            eta (1 - d) per step and falls by at most eta d, so a phase where most samples count as violations
            (behind a shield that switches most slots, each switched sample charged) winds it up for good: measured
            with per-domain agents behind the shield on metro-v0 (``benchmarks/domain_agents.py``), eta 1 ended with
            multipliers of 310-430 and the rule-based policy's usage, eta 0.1 at 23-34 and 20 % below it.
        pid_kp: the proportional gain K_P of the PID multipliers.
        pid_ki: the integral gain K_I of the PID multipliers.
        pid_kd: the derivative gain K_D of the PID multipliers.
        pid_ema: smoothing of the violation rate in the PID's proportional and derivative terms, in [0, 1) (0: none).
        normalise_lagrangian: divide the Lagrangian advantage by 1 + the sum of the multipliers.
        cost_signal: what the cost critic learns per slice and slot: ``"indicator"``, ``1[cost > 0]`` (the
            violation itself), or ``"graded"``, ``1[cost > 0] + cost`` (the violation plus its clipped shortfall:
            where every nearby action violates, the indicator is flat and gives the policy no direction; the
            shortfall does). The multipliers always step on the violation rate.
        switching: baseline switching while learning: a shield (its settings: ShieldConfig, options
            ``--shield-*``) enforces the rule-based policy's action where the agent's is predicted to violate.
        lambda_init: the value every multiplier starts at (at least 0). With PID it is the integral's starting
            value (times K_I), so it decays as the violations stay below the limit. A run starting from a good actor
            (a warm start) needs it: at 0, the first updates optimise the usage alone and leave the clone's SLA
            boundary.
        switched_samples: how switched slots enter the policy loss: ``"keep"`` (the agent's own action stays; it
            earns the usage of the slot as played, the baseline's, and is judged, in the penalty and the
            constraints, by the shield's predicted cost of the agent's action instead of the baseline's real one),
            ``"exclude"`` (left out of the policy loss; the critics still learn from them as played) or
            ``"corrected"`` (the agent's own action stays, judged as if played: the usage it would have earned and
            the evaluator's expected cost of it). The table is in :mod:`.switched_samples`.
    """

    method: str = "none"
    violation_limit: float = 0.01
    lambda_every: int = 1
    lambda_lr: float = 1.0
    pid_kp: float = 1.0
    pid_ki: float = 1.0
    pid_kd: float = 0.0
    pid_ema: float = 0.0
    normalise_lagrangian: bool = True
    cost_signal: str = "graded"
    switching: bool = False
    switched_samples: str = "keep"
    lambda_init: float = 0.0

    def __post_init__(self) -> None:
        choices = (("method", METHODS), ("cost_signal", COST_SIGNALS), ("switched_samples", SWITCHED_SAMPLES))
        for name, allowed in choices:
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name}: must be one of {', '.join(map(repr, allowed))}, got {value!r}")
        check_range("violation_limit", self.violation_limit, 0.0, 1.0)
        if self.lambda_every < 1:
            raise ConfigError(f"lambda_every: must be at least 1, got {self.lambda_every!r}")
        for name in ("lambda_lr", "pid_kp", "pid_ki", "pid_kd"):
            check_range(name, getattr(self, name), 0.0)
        check_range("pid_ema", self.pid_ema, 0.0, 1.0, high_open=True)
        check_range("lambda_init", self.lambda_init, 0.0)

    @property
    def enabled(self) -> bool:
        """Whether training is constrained (a method other than ``"none"``)."""
        return self.method != "none"

    def multipliers(self, slice_names: Sequence[str]) -> Multipliers | None:
        """Fresh multipliers (all ``lambda_init``) for ``slice_names``, or None for ``method="none"``."""
        from netslice.intelligence.agents import lagrangian  # numpy: only when training

        multipliers: Multipliers | None = None
        if self.method == "lagrangian":
            multipliers = lagrangian.DualAscent(slice_names, self.violation_limit, self.lambda_lr, self.lambda_every)
        elif self.method == "pid":
            multipliers = lagrangian.PIDLagrangian(
                slice_names, self.violation_limit, self.pid_kp, self.pid_ki, self.pid_kd, self.lambda_every,
                self.pid_ema,
            )  # fmt: skip
        if multipliers is not None and self.lambda_init > 0.0:
            multipliers.start(self.lambda_init)
        return multipliers
