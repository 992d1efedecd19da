"""The training shield's settings (:class:`ShieldConfig`): baseline switching while PPO learns (issue 12, item 3).

The shield itself is :mod:`.shield` (its docstring has the switch rule, the pretraining data and the
``shield/*`` metrics). Every numeric field is checked by :func:`~.safety_config.check_range`, whose message
names the field and the rule.

This module imports neither torch nor numpy (the command line reads it at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

from netslice.errors import ConfigError
from netslice.intelligence.agents.safety_config import check_range

#: What the evaluator regresses: the signed SLA margin (unclipped below 0) or the clipped SLA cost.
TARGETS = ("margin", "cost")


def _positive(name: str, value: float) -> None:
    """``value`` in (0, 1], else a ConfigError naming the field and the rule."""
    if check_range(name, value, 0.0, 1.0) == 0.0:
        raise ConfigError(f"{name}: must be in (0, 1], got {value!r}")


#: The baselines a shield can switch to (``forecast:Q`` too, Q in (0, 1)).
BASELINES = ("rule", "forecast")


def check_baseline(spec: object) -> None:
    """``spec`` is ``rule``, ``forecast`` or ``forecast:Q`` with Q in (0, 1), else a ConfigError naming the field."""
    rule = f"must be one of {', '.join(map(repr, BASELINES))} or 'forecast:Q' with Q in (0, 1), got {spec!r}"
    if not isinstance(spec, str):
        raise ConfigError(f"baseline: {rule}")
    name, _, q = spec.partition(":")
    if name not in BASELINES or (name == "rule" and q) or (q and not _open_unit(q)) or spec.endswith(":"):
        raise ConfigError(f"baseline: {rule}")


def _open_unit(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return 0.0 < value < 1.0


@dataclass(frozen=True)
class ShieldConfig:
    """Baseline switching during training: the evaluator, its switch rule and its pretraining.

    Attributes:
        confidence_z: the switch rule's z: env i switches iff some slice's ``mean - tolerance - z std > 0``.
            Negative is conservative ("switch unless confidently safe"), in [-10, 10].
        tolerance: predicted target the rule lets pass (in the target's units), in [-1, 1]; negative with the
            margin target switches before the predicted SLA boundary.
        target: ``"margin"`` (the signed SLA margin in [-1, 1]: the largest normalised shortfall, negative when
            every term holds with room; needs the KPIs, ``include_kpis=True``) or ``"cost"`` (the clipped cost
            in [0, 1]).
        members: ensemble size (at least 2).
        hidden: hidden layer widths of each member (each at least 1).
        lr: Adam learning rate of the evaluator, in (0, 1].
        batch_size: minibatch size per member (at least 1).
        buffer_size: transitions kept in the replay buffer, pretraining data included (at least 1).
        learn_steps: minibatch steps per :meth:`~.shield.TrainingShield.learn` call (at least 0).
        pretrain_slots: slots per env played offline by :meth:`~.shield.TrainingShield.pretrain` (at least 1).
        pretrain_epochs: epochs over the pretraining data (at least 1).
        holdout: fraction of the pretraining envs whose transitions are held out to score the evaluator (at least
            one env when > 0), in [0, 1).
        baseline_fraction: fraction of pretraining rows that play the baseline's action unchanged, in [0, 1].
        random_fraction: fraction of rows that play a uniform random action, in [0, 1].
        level_fraction: fraction of rows that play one level for every entry (log-uniform in
            [perturb_low x 0.5, 1]) times a log-uniform jitter in [0.5, 2]: PPO's starting region, in [0, 1].
            The rest (the three fractions sum to at most 1) play the baseline's row times per-entry log-uniform
            factors in [perturb_low, perturb_high].
        perturb_low: smallest perturbation factor of the baseline's action, in (0, 1].
        perturb_high: largest perturbation factor, in [1, 10].
        segment: mean length (slots) of a pretraining segment, during which an env keeps its mode and factors
            (at least 1; see :class:`~.shield.PretrainingPlan`).
        explore_rate: at most this fraction of decisions (over time) plays the agent's action although the rule
            switched, where the switch is due to uncertainty alone (the mean says safe): the rows closest to safe
            first. It lets the evaluator see the agent's actions (a switched action teaches it nothing), at a
            violation cost of at most this rate; in [0, 1].
        per_slice: one evaluator network for every slice, fed one slice at a time (see :mod:`.evaluator`).
        log_action: also feed the log of the action to the evaluator.
        quantile: the level tau of the margin quantile each member predicts given (state, action) (pinball loss;
            the coming slot's traffic is not in the state, so near the boundary the mean margin says "safe"
            where many slots violate), in (0, 1); None: the mean (squared error). See :mod:`.evaluator`.
            It is the knob between safety while learning and the final policy's usage: the agent learns inside
            the shield's safe set. Measured on testbed-v0 (PID, d = 1 %, 6M steps; ``benchmarks/safe_ppo.py``),
            violations over the whole run / final usage against the run without switching: 0.99: 0.20 % /
            +10.3 % (seeds 0-4); 0.98 (the default): 0.40 % / +6.4 % (seeds 0-4); 0.97: 0.56 % / +4.3 % (tuning
            seed 10); 0.95: 0.79 % / +3.6 %; 0.9: 1.80 % / +1.1 % (seed 0). 0.98 is the loosest that kept the
            violations while learning within 0.5 % on every seed.
        seed: seed of the evaluator (initialisation, bootstraps, minibatches).
        relative: the relative switch rule (:func:`~netslice.intelligence.policies.switching.baseline_floor`): a
            network switches only where the agent's action is predicted to violate some slice *and* to do worse
            there than the baseline's own action (off: wherever it is predicted to violate). Where the evaluator
            predicts the baseline safe, the two rules agree.
        baseline: the policy a switched network plays: ``"rule"`` (the rule-based policy, as in the paper) or
            ``"forecast"`` / ``"forecast:Q"`` (the forecast planner for the ``Q`` quantile of the coming slot's
            traffic, in (0, 1): it plans with the network model, so it needs the orchestrator and is bound to the
            networks it switches, see :mod:`~netslice.intelligence.policies.bound`). It must keep the SLAs: the
            shield's guarantee is the baseline's. Measured on testbed-v0 (4 days x 16 networks, seed 1000): rule
            0.633 usage at 0 % violations; forecast:0.9999 0.170 at 0 %; forecast:0.999 0.162 at 0.39 %. The
            planner searches every network's allocation every slot: training behind it ran at 330 steps/s
            against 10,900 behind the rule (testbed-v0, 128 networks, this machine).
    """

    confidence_z: float = -1.0
    tolerance: float = 0.0
    target: str = "margin"
    members: int = 5
    hidden: tuple[int, ...] = (32, 32)
    lr: float = 3e-3
    batch_size: int = 256
    buffer_size: int = 200_000
    learn_steps: int = 16
    pretrain_slots: int = 240
    pretrain_epochs: int = 10
    holdout: float = 0.2
    baseline_fraction: float = 0.2
    random_fraction: float = 0.1
    level_fraction: float = 0.2
    perturb_low: float = 0.02
    perturb_high: float = 1.5
    segment: float = 6.0
    explore_rate: float = 0.005
    per_slice: bool = True
    log_action: bool = True
    quantile: float | None = 0.98
    seed: int = 0
    baseline: str = "rule"
    relative: bool = False

    def __post_init__(self) -> None:
        check_range("confidence_z", self.confidence_z, -10.0, 10.0)
        check_range("tolerance", self.tolerance, -1.0, 1.0)
        if self.target not in TARGETS:
            raise ConfigError(f"target: must be one of {', '.join(map(repr, TARGETS))}, got {self.target!r}")
        for name, low in (("members", 2), ("batch_size", 1), ("buffer_size", 1), ("learn_steps", 0),
                          ("pretrain_slots", 1), ("pretrain_epochs", 1)):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name}: must be an int of at least {low}, got {value!r}")
        hidden = self.hidden
        if (isinstance(hidden, str | bytes) or not hasattr(hidden, "__iter__") or not hidden
                or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden)):  # fmt: skip
            raise ConfigError(f"hidden: must be a non-empty tuple of ints of at least 1, got {hidden!r}")
        object.__setattr__(self, "hidden", tuple(hidden))  # a list from JSON reads as the tuple
        _positive("lr", self.lr)
        check_range("holdout", self.holdout, 0.0, 1.0, high_open=True)
        fractions = ("baseline_fraction", "random_fraction", "level_fraction")
        for name in fractions:
            check_range(name, getattr(self, name), 0.0, 1.0)
        total = sum(getattr(self, name) for name in fractions)
        if total > 1.0 + 1e-12:
            raise ConfigError(f"random_fraction: baseline_fraction + random_fraction + level_fraction must be at "
                              f"most 1, got {total:g}")  # fmt: skip
        _positive("perturb_low", self.perturb_low)
        check_range("perturb_high", self.perturb_high, 1.0, 10.0)
        check_range("segment", self.segment, 1.0)
        check_range("explore_rate", self.explore_rate, 0.0, 1.0)
        if self.quantile is not None and not (isinstance(self.quantile, float) and 0.0 < self.quantile < 1.0):
            raise ConfigError(f"quantile: must be a number in (0, 1) or null, got {self.quantile!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed: must be a non-negative int, got {self.seed!r}")
        check_baseline(self.baseline)
