"""The training shield's pretraining data, and the signed SLA margin its evaluator regresses (issue 12, item 3).

:class:`PretrainingPlan`: each env plays one mode for a segment of slots (geometric, mean ``segment``), so that
the states it visits are those its actions lead to, as a policy's are:

====================  ==========================================================================================
mode (share)          action
====================  ==========================================================================================
``BASELINE``          the baseline's action
(baseline_fraction)
``RANDOM``            uniform in [0, 1], drawn every slot
(random_fraction)
``LEVEL``             one level for the row, log-uniform in ``[perturb_low / 2, 1]``, times a per-entry factor in
(level_fraction)      [0.5, 2] (PPO starts at shares of about 0.1 everywhere)
``PERTURBED``         the baseline's action times per-entry factors: a fraction q ~ U(0, 1) of the entries cut
(the rest)            deep (log-uniform in ``[perturb_low, 0.3]``), the others mildly (log-uniform in
                      ``[0.3, perturb_high]``), so that safe actions with a few small entries are common (a
                      trained policy starves the rows its slices do not need)
====================  ==========================================================================================

LEVEL and PERTURBED actions get a fresh jitter every slot (log-uniform in [0.8, 1.25]); actions are clipped to
[0, 1].

:func:`sla_margin`: the signed SLA margin, each slice's largest normalised SLA shortfall *without* the clip at 0
(:mod:`netslice.network.scenarios.sla`): > 0 exactly where the SLA cost is > 0, and < 0 by how much room a safe
action leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.policies.base import Policy
from netslice.network.kernel import Kpis
from netslice.network.scenarios import sla
from netslice.network.scenarios.sla import SlaTargets

FloatArray = NDArray[np.float64]


def sla_margin(kpis: Kpis | Mapping[str, Any], targets: SlaTargets) -> FloatArray:
    """The signed SLA margin ``(n, K)`` of KPIs as an env's ``info["kpis"]`` holds them (a mapping or :class:`Kpis`).

    :func:`netslice.network.scenarios.sla.sla_margin`: its positive part is the orchestrator's SLA cost; a slice
    without SLA terms reads -1; non-finite shortfalls read as 0 (NaN) or +-1 (+-inf).
    """
    return sla.sla_margin(targets, Kpis(**kpis) if isinstance(kpis, Mapping) else kpis)


def live_margin(margin: NDArray[np.floating], live: NDArray[np.bool_] | None) -> FloatArray:
    """``margin`` ``(n, K)`` with -1 where the slice was not provisioned in the slot (``live`` False; None: all were).

    A slot without a slice has no SLA in force (its cost is 0): it reads as a slice without SLA terms, whatever the
    KPIs of the empty slot (zero throughput reads as a violation otherwise).
    """
    m = np.asarray(margin, dtype=np.float64)
    return m if live is None else np.where(np.asarray(live, dtype=bool), m, -1.0)


#: Pretraining row modes (``data["mode"]`` of :func:`collect`).
BASELINE, RANDOM, LEVEL, PERTURBED = 0, 1, 2, 3
#: Factor between the deep cuts (``[perturb_low, PERTURB_CUT]``) and the mild ones (``[PERTURB_CUT, perturb_high]``).
PERTURB_CUT = 0.3


class PretrainingPlan:
    """Per-env pretraining behaviour, held for a segment of slots (mean ``segment`` slots, geometric).

    Each env plays one mode (:data:`BASELINE`, :data:`RANDOM`, :data:`LEVEL`, :data:`PERTURBED`) with one factor
    per action entry for a segment, so that the states it visits are those its actions lead to (as a policy's
    are); a new segment draws both anew. Every slot adds a jitter, log-uniform in [0.8, 1.25], to LEVEL and
    PERTURBED actions.
    """

    def __init__(self, cfg: ShieldConfig, n: int, n_act: int, rng: np.random.Generator) -> None:
        """A plan for ``n`` envs with ``n_act`` action entries (every env starts a segment)."""
        self.cfg, self.rng = cfg, rng
        self.mode = np.zeros(n, dtype=np.int64)
        self.factor = np.ones((n, n_act))
        self._redraw(np.ones(n, dtype=np.bool_))

    def _redraw(self, new: NDArray[np.bool_]) -> None:
        cfg, rng, m = self.cfg, self.rng, int(new.sum())
        edges = np.cumsum([cfg.baseline_fraction, cfg.random_fraction, cfg.level_fraction])
        self.mode[new] = np.searchsorted(edges, rng.random(m), side="right")
        log_low, log2 = np.log(cfg.perturb_low), np.log(2.0)
        level = np.exp(rng.uniform(log_low - log2, 0.0, (m, 1))) * np.exp(rng.uniform(-log2, log2, (m, self.n_act)))
        cut = np.log(PERTURB_CUT)
        deep = rng.random((m, self.n_act)) < rng.random((m, 1))  # a fraction q ~ U(0, 1) of the entries
        perturbed = np.exp(np.where(deep, rng.uniform(log_low, cut, (m, self.n_act)),
                                    rng.uniform(cut, np.log(cfg.perturb_high), (m, self.n_act))))  # fmt: skip
        self.factor[new] = np.where((self.mode[new] == LEVEL)[:, None], level, perturbed)

    @property
    def n_act(self) -> int:
        """Action entries."""
        return int(self.factor.shape[1])

    def actions(self, base: FloatArray) -> tuple[FloatArray, NDArray[np.int64]]:
        """This slot's actions ``(n, n_act)`` in [0, 1] around the baseline's ``base``, and their modes."""
        rng, n = self.rng, base.shape[0]
        jitter = np.exp(rng.uniform(np.log(0.8), np.log(1.25), base.shape))
        uniform = rng.random(base.shape)
        m = self.mode[:, None]
        out = np.select(
            [m == BASELINE, m == RANDOM, m == LEVEL], [base, uniform, self.factor * jitter], base * self.factor * jitter
        )
        mode = self.mode.copy()
        self._redraw(np.asarray(rng.random(n) < 1.0 / self.cfg.segment, dtype=np.bool_))
        return np.clip(out, 0.0, 1.0), mode


def collect(
    cfg: ShieldConfig, baseline: Policy, envs: Any, seed: int, rng: np.random.Generator, targets: SlaTargets | None
) -> dict[str, NDArray[Any]]:
    """Play ``cfg.pretrain_slots`` slots of a :class:`PretrainingPlan` on ``envs``: obs, action, cost, margin, mode.

    Raises:
        ValueError: the margin target, and ``envs`` reports no KPIs.
    """
    obs, _ = envs.reset(seed=seed)
    plan = PretrainingPlan(cfg, envs.num_envs, int(np.prod(envs.single_action_space.shape)), rng)
    rows: dict[str, list[NDArray[Any]]] = {"obs": [], "action": [], "cost": [], "margin": [], "mode": []}
    for _ in range(cfg.pretrain_slots):
        action, mode = plan.actions(np.asarray(baseline.act(obs), dtype=np.float64))
        live = getattr(getattr(envs, "orch", None), "active", None)  # the slices that run the slot
        live = None if live is None else np.array(live, dtype=bool)
        next_obs, _, _, _, info = envs.step(action)
        rows["obs"].append(np.asarray(obs, dtype=np.float32))
        rows["action"].append(action)
        rows["cost"].append(np.asarray(info["cost"], dtype=np.float64))
        rows["mode"].append(mode)
        if cfg.target == "margin":
            if "kpis" not in info or targets is None:
                raise ValueError("pretrain: target='margin' needs envs created with include_kpis=True")
            rows["margin"].append(live_margin(sla_margin(info["kpis"], targets), live))
        obs = next_obs
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in rows.items()}


def split_rows(
    n_rows: int, n_envs: int, holdout: float, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(train, held-out)`` row indices of :func:`collect`'s data, ``holdout`` of the envs held out whole.

    At least one env is held out when ``holdout`` > 0; whole envs, so that no held-out row has a neighbouring
    slot of its segment in training.
    """
    n_test = max(1, round(holdout * n_envs)) if holdout > 0.0 else 0
    test_envs = rng.permutation(n_envs)[:n_test]
    held = np.isin(np.arange(n_rows) % n_envs, test_envs)
    return np.flatnonzero(~held), np.flatnonzero(held)
