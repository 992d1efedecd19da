"""The training shield: baseline switching while PPO learns (issue 12, item 3).

Before each slot's actions are enforced, an :class:`~.evaluator.EnsembleEvaluator` predicts, per env and
slice, the target ``c(s, a)`` of the agent's action with an uncertainty; where some slice's prediction says
"violates" with the configured confidence, the baseline's action (the rule-based policy: 0 % violations on
testbed-v0) is enforced instead. The shield learns from every transition played, after pretraining offline.

Contract (:class:`TrainingShield`; settings in :class:`~.shield_config.ShieldConfig`):

=============================  ==============================================================================
``filter(obs, action)``        ``(enforced, switched)``: env i switches iff some slice k has
                               ``mean[i, k] - tolerance - confidence_z * std[i, k] > 0`` (the switch rule of
                               :func:`~netslice.intelligence.policies.switching.switch_mask`; with
                               ``relative``, ``> max(0, the same statistic of the baseline's action)``:
                               :func:`~netslice.intelligence.policies.switching.baseline_floor`); ``enforced``
                               is the baseline's row there and the agent's row (bit for bit, as float64)
                               elsewhere. The baseline is asked every call. ``last_score`` keeps the
                               rule's statistic ``(n, K)`` of the agent's action (> 0: predicted to violate)
``learn(obs, action, cost,     once per PPO update with the whole rollout of enforced actions: FIRST the
margin=None)``                 evaluator is scored on these transitions, which it has not trained on
                               (``shield/precision``, ``shield/recall``: every row, switched or not; see
                               below), THEN it trains on them: they join the replay ring and
                               ``learn_steps`` minibatch steps run over the ring and the pretraining data
                               (kept for good: :mod:`.evaluator`'s anchor)
``pretrain(envs, seed)``       plays ``pretrain_slots`` slots on a separate simulator (offline: those slots
                               are not training slots), fits the evaluator on all but ``holdout`` of the
                               transitions and scores it on the rest; returns the ``shield/pretrain/*`` table
``margin(info)``               the signed SLA margin ``(n, K)`` of an env step's info (needs ``info["kpis"]``)
``switching_policy(agent)``    the agent wrapped in a :class:`~netslice.intelligence.policies.switching.
                               SwitchingPolicy` with this evaluator and rule (frozen: it does not learn)
``state()``/``load_state()``   exact resume (torch tensors; the checkpoint is ``torch.save``)
=============================  ==============================================================================

Target. With ``target="margin"`` (default) the evaluator regresses the signed SLA margin
(:func:`~.shield_data.sla_margin`):
each slice's largest normalised SLA shortfall *without* the clip at 0, clipped to [-1, 1]. It is > 0 exactly
where the cost is > 0, and it also says how close to the boundary a safe action is, which the clipped cost
(0 on every safe transition) cannot. ``target="cost"`` regresses the clipped cost in [0, 1].
``benchmarks/shield_evaluator.py`` compares the two. "Violates" is always ``cost > 0`` for the metrics.

Pretraining data: :mod:`.shield_data` (segments of baseline, random, level and perturbed-baseline actions, held
per env for a few slots so that the states visited are those the actions lead to); the held-out rows are
those of ``holdout`` of the envs (at least one), drawn at random.

Evaluator (:mod:`.evaluator`, ``per_slice`` and ``log_action`` by default): one network for every slice, fed
one slice at a time (its observation block, its column of the action and its log, each resource's total): a
slice's safe column is recognised whatever the other slices' columns are, which the perturbed pretraining data
cover far better per slice than jointly.

Exploration (``explore_rate``): a switched action teaches the evaluator nothing about the agent's actions, so
a conservative rule would never learn that they became safe. Up to ``explore_rate`` of the decisions (over
time) play the agent's action although the rule switched, only where the switch comes from the uncertainty
alone (the mean says safe), the rows closest to safe first.

Input normalisation: fixed, from the pretraining data (mean and std per input; see :mod:`.evaluator`).

Held-out scoring online: the rollout was filtered by the same evaluator, so its rows are not an unbiased
sample: the agent's rows that stayed were all predicted safe (each violation among them is a miss), the
switched rows carry the baseline's actions. ``shield/recall`` is thus "of the violations that happened,
the fraction the evaluator would have flagged", and ``shield/miss_rate`` the fraction of rows the agent
played and violated. The unbiased figures are the pretraining's held-out ones.

Metrics (each documented once, here; keys of :meth:`TrainingShield.metrics` and :meth:`TrainingShield.pretrain`):

================================  =====================================================================
``shield/switch_rate``            cumulative fraction of (env, slot) decisions switched to the baseline
``shield/switch_rate_update``     the same over the rollout of the last :meth:`~TrainingShield.learn`
                                  (before the first: since the start)
``shield/switches``               cumulative decisions switched
``shield/decisions``              cumulative decisions filtered
``shield/explored``               cumulative decisions let through by exploration (``explore_rate``)
``shield/precision``              last held-out precision of "this action violates" (:mod:`.evaluator`)
``shield/recall``                 last held-out recall of it
``shield/miss_rate``              last rollout: fraction of rows the agent played (not switched) that
                                  violated (needs ``switched`` in ``learn``; else every row counts)
``shield/evaluator_loss``         mean minibatch squared error of the last ``learn``'s training steps
``shield/heldout_loss``           the evaluator's loss (squared error, or pinball with ``quantile``) on the
                                  last rollout before training on it
``shield/learn_s``                seconds the last ``learn`` took
``shield/pretrain/slots``         env slots played offline by ``pretrain`` (slots x n_envs; not training)
``shield/pretrain/seconds``       wall time of ``pretrain`` (playing and fitting)
``shield/pretrain/precision``     held-out precision after pretraining
``shield/pretrain/recall``        held-out recall after pretraining
``shield/pretrain/switch_rate``   held-out fraction of rows the rule switches
``shield/pretrain/violation_rate``  fraction of the pretraining rows that violate
``shield/pretrain/baseline_switch_rate``  held-out fraction of the baseline's own rows the rule switches
================================  =====================================================================
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.agents.evaluator import (
    EnsembleConfig,
    EnsembleEvaluator,
    classification_metrics,
    regression_loss,
)
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.agents.shield_data import BASELINE, collect, sla_margin, split_rows
from netslice.intelligence.policies.base import Policy
from netslice.intelligence.policies.switching import SwitchingPolicy, baseline_floor, only_live, switch_mask
from netslice.network.scenarios.sla import SlaTargets

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class TrainingShield:
    """Baseline switching for PPO's rollout (see the module docstring).

    Args:
        cfg: the shield's settings.
        baseline: the policy enforced where a violation is predicted.
        n_obs: observation features.
        n_act: action entries (7 K).
        slice_names: the slices, in column order.
        targets: the SLA targets for the margin (default: taken from ``pretrain``'s envs).
        expectation: the evaluator also predicts each action's violation probability and expected cost
            (:class:`~.evaluator.EnsembleConfig`), kept per :meth:`filter` call in ``last_expected`` (how
            switched slots are judged with ``switched_samples="corrected"``).
    """

    def __init__(
        self, cfg: ShieldConfig, baseline: Policy, n_obs: int, n_act: int, slice_names: Sequence[str],
        targets: SlaTargets | None = None, expectation: bool = False,
    ) -> None:  # fmt: skip
        self.cfg = cfg
        self.baseline = baseline
        self.n_obs, self.n_act = n_obs, n_act
        self.slice_names = tuple(slice_names)
        self.targets = targets
        self.expectation = expectation
        low = -1.0 if cfg.target == "margin" else 0.0
        self.evaluator = EnsembleEvaluator(
            n_obs, n_act, len(self.slice_names),
            EnsembleConfig(members=cfg.members, hidden=cfg.hidden, lr=cfg.lr, batch_size=cfg.batch_size,
                           tolerance=cfg.tolerance, buffer_size=cfg.buffer_size, update_steps=cfg.learn_steps,
                           seed=cfg.seed, target_low=low, target_high=1.0, log_action=cfg.log_action,
                           per_slice=cfg.per_slice, quantile=cfg.quantile, expectation=expectation),
        )  # fmt: skip
        self._counts = {"switches": 0, "decisions": 0, "explored": 0, "window_switches": 0, "window_decisions": 0}
        self._explore_credit = 0.0
        self._window_rate: float | None = None
        self._last: dict[str, float] = {}
        #: ``(n, K)`` the switch rule's statistic of the agent's action at the last :meth:`filter`,
        #: ``mean - tolerance - confidence_z * std`` (> 0 for some slice: switched, unless explored).
        self.last_score: FloatArray | None = None
        #: ``(p, cost)`` ``(n, K)`` of the agent's action at the last :meth:`filter` (``expectation`` only): the
        #: predicted probability of a violation and the expected clipped cost.
        self.last_expected: tuple[FloatArray, FloatArray] | None = None

    # ------------------------------------------------------------------------------------ acting

    def _scores(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> tuple[FloatArray, FloatArray]:
        if not self.expectation:
            return self.evaluator.predict(obs, action)
        mean, std, p, cost = self.evaluator.predict_all(obs, action)
        self.last_expected = (p, cost)
        return mean, std

    def filter(
        self, obs: NDArray[np.floating], action: NDArray[np.floating], live: NDArray[np.bool_] | None = None
    ) -> tuple[FloatArray, BoolArray]:
        """``(enforced (n, n_act) float64, switched (n,) bool)``: the baseline's rows where the rule fires.

        ``live`` ``(n, K)``: the slices provisioned in the coming slot (None: all); an empty slot has no SLA to
        violate, so its prediction neither switches nor judges (``last_score`` -inf, ``last_expected`` 0 there).

        Raises:
            ValueError: ``obs`` and ``action`` are not ``(n, n_obs)`` and ``(n, n_act)``.
        """
        a = np.asarray(action, dtype=np.float64)
        o = np.asarray(obs)
        if o.ndim != 2 or a.shape != (o.shape[0], self.n_act) or o.shape[1] != self.n_obs:
            raise ValueError(f"filter: obs {o.shape} and action {a.shape} must be (n, {self.n_obs}), (n, {self.n_act})")
        mean, std = only_live(*self._scores(o, a), live)
        base = np.asarray(self.baseline.act(o), dtype=np.float64)
        z = self.cfg.confidence_z
        floor = baseline_floor(self.evaluator, o, base, z, live) if self.cfg.relative else None
        if live is not None and self.last_expected is not None:
            alive = np.asarray(live, dtype=bool)
            p, cost = self.last_expected
            self.last_expected = (np.where(alive, p, 0.0), np.where(alive, cost, 0.0))
        switched = switch_mask(mean, std, z, floor)
        self.last_score = mean - z * std
        if self.cfg.explore_rate > 0.0:
            explored = self._explore(mean, std, switched, floor)
            switched &= ~explored
            self._counts["explored"] += int(explored.sum())
        enforced = np.where(switched[:, None], base, a)
        n_switched = int(switched.sum())
        for key, inc in (("switches", n_switched), ("decisions", switched.size)):
            self._counts[key] += inc
            self._counts[f"window_{key}"] += inc
        return enforced, switched

    def _explore(self, mean: FloatArray, std: FloatArray, switched: BoolArray, floor: FloatArray | None) -> BoolArray:
        """Switched rows to let through: uncertain ones (the mean says safe), lowest score first (``explore_rate``)."""
        self._explore_credit += self.cfg.explore_rate * switched.size
        candidates = np.flatnonzero(switched & ~switch_mask(mean, std, 0.0, floor))
        n = min(int(self._explore_credit), candidates.size)
        out = np.zeros_like(switched)
        if n:
            score = (mean - self.cfg.confidence_z * std).max(axis=1)[candidates]
            out[candidates[np.argsort(score, kind="stable")[:n]]] = True
            self._explore_credit -= n
        return out

    def judged_cost(self, cost: NDArray[np.floating], switched: NDArray[np.bool_]) -> FloatArray:
        """The cost ``(n, K)`` the agent's own actions of the last :meth:`filter` are judged by in learning.

        A switched slot played the baseline, so its cost says nothing of the agent's action: there the agent is
        judged by the prediction for its own action, ``last_score`` clipped to [0, 1], which grows with how far
        into the unsafe region the action is and so points back to the safe one. Elsewhere: ``cost`` as played.
        """
        c = np.asarray(cost, dtype=np.float64)
        if not np.any(switched):
            return c
        if self.last_score is None:
            raise RuntimeError("judged_cost: no filter call before")
        return np.where(np.asarray(switched, dtype=bool)[:, None], np.clip(self.last_score, 0.0, 1.0), c)

    def switching_policy(self, agent: Policy, name: str = "switching") -> SwitchingPolicy:
        """``agent`` behind this shield's evaluator, rule and baseline, as a :class:`~.base.Policy` (frozen)."""
        return SwitchingPolicy(agent, self.baseline, self.evaluator, self.cfg.confidence_z, name, learn_online=False,
                               relative=self.cfg.relative)  # fmt: skip

    # ------------------------------------------------------------------------------------ learning

    def margin(self, info: Mapping[str, Any]) -> FloatArray:
        """The signed SLA margin ``(n, K)`` of an env step's ``info`` (see :func:`sla_margin`).

        Raises:
            ValueError: ``info`` has no ``"kpis"`` (make the envs with ``include_kpis=True``), or no targets.
        """
        if "kpis" not in info:
            raise ValueError("margin: info has no 'kpis'; create the envs with include_kpis=True")
        if self.targets is None:
            raise ValueError("margin: no SLA targets; pass targets= or call pretrain first")
        return sla_margin(info["kpis"], self.targets)

    def _target(self, cost: FloatArray, margin: NDArray[np.floating] | None) -> FloatArray:
        if self.cfg.target == "cost":
            return cost
        if margin is None:
            raise ValueError("learn: target='margin' needs margin= (TrainingShield.margin(info))")
        return np.asarray(margin, dtype=np.float64)

    def learn(
        self, obs: NDArray[np.floating], action: NDArray[np.floating], cost: NDArray[np.floating],
        margin: NDArray[np.floating] | None = None, switched: NDArray[np.bool_] | None = None,
    ) -> dict[str, float]:  # fmt: skip
        """Score the evaluator on the rollout's transitions, then train on them (module docstring).

        Args:
            obs: ``(N, n_obs)`` observations the actions were taken in.
            action: ``(N, n_act)`` enforced actions.
            cost: ``(N, K)`` clipped SLA cost (``cost > 0``: violation).
            margin: ``(N, K)`` signed margins (needed with ``target="margin"``).
            switched: ``(N,)`` rows switched to the baseline (only for ``shield/miss_rate``).

        Returns:
            :meth:`metrics`.
        """
        start = time.perf_counter()
        o = np.asarray(obs).reshape(-1, self.n_obs)
        a = np.asarray(action).reshape(-1, self.n_act)
        c = np.asarray(cost, dtype=np.float64).reshape(o.shape[0], -1)
        target = self._target(c, None if margin is None else np.asarray(margin).reshape(c.shape))
        mean, std = self._scores(o, a)
        violated = (c > 0.0).any(axis=1)
        agent_rows = np.ones_like(violated) if switched is None else ~np.asarray(switched, dtype=bool).reshape(-1)
        clipped = np.clip(target, -1.0 if self.cfg.target == "margin" else 0.0, 1.0)
        heldout = regression_loss(mean + self.cfg.tolerance, clipped, self.cfg.quantile)
        self._last = {
            **classification_metrics(mean, std, c, self.cfg.confidence_z),
            "shield/miss_rate": float((violated & agent_rows).mean()) if violated.size else 0.0,
            "shield/heldout_loss": heldout,
            "shield/evaluator_loss": self.evaluator.update(o, a, target),
        }
        d = self._counts["window_decisions"]
        self._window_rate = self._counts["window_switches"] / d if d else 0.0
        self._counts["window_switches"] = self._counts["window_decisions"] = 0
        self._last["shield/learn_s"] = time.perf_counter() - start
        return self.metrics()

    def pretrain(self, envs: Any, seed: int, around: Policy | None = None) -> dict[str, float]:
        """Pretrain offline on ``envs`` (a SliceVectorEnv-like, not the training envs); the pretrain table.

        ``envs`` must report ``info["kpis"]`` for the margin target (``include_kpis=True``); the SLA targets
        in force come from its orchestrator's read-only planning model unless given to the constructor.
        ``around``: the policy whose actions the pretraining plays and perturbs (default the baseline; a warm
        start's actor, so that the evaluator knows the region where the agent starts; its ``BASELINE`` rows, and
        ``shield/pretrain/baseline_switch_rate``, are then that policy's unperturbed actions).
        """
        start = time.perf_counter()
        if self.targets is None and self.cfg.target == "margin":
            self.targets = envs.orch.planning_model().targets
        rng = np.random.default_rng(seed)
        data = collect(self.cfg, around or self.baseline, envs, seed, rng, self.targets)
        train, test = split_rows(data["obs"].shape[0], envs.num_envs, self.cfg.holdout, rng)
        target = data["margin"] if self.cfg.target == "margin" else data["cost"]
        self.evaluator.fit(data["obs"][train], data["action"][train], target[train], self.cfg.pretrain_epochs)
        result = self.score(data["obs"][test], data["action"][test], data["cost"][test])
        base = test[data["mode"][test] == BASELINE]
        base_rate = 0.0  # no held-out row played the baseline (a tiny pretraining)
        if base.size:
            mean, std = self._scores(data["obs"][base], data["action"][base])
            base_rate = float(switch_mask(mean, std, self.cfg.confidence_z).mean())
        result.update({
            "shield/pretrain/slots": float(data["obs"].shape[0]),
            "shield/pretrain/seconds": time.perf_counter() - start,
            "shield/pretrain/violation_rate": float((data["cost"] > 0).any(axis=1).mean()),
            "shield/pretrain/baseline_switch_rate": base_rate,
        })  # fmt: skip
        self._last.update(result)
        return result

    def score(
        self, obs: NDArray[np.floating], action: NDArray[np.floating], cost: NDArray[np.floating]
    ) -> dict[str, float]:
        """``shield/pretrain/{precision, recall, switch_rate}`` of the rule on labelled transitions."""
        mean, std = self._scores(obs, action)
        m = classification_metrics(mean, std, cost, self.cfg.confidence_z)
        return {
            "shield/pretrain/precision": m["shield/precision"],
            "shield/pretrain/recall": m["shield/recall"],
            "shield/pretrain/switch_rate": float(switch_mask(mean, std, self.cfg.confidence_z).mean()),
        }

    # ------------------------------------------------------------------------------------ reporting

    def metrics(self) -> dict[str, float]:
        """The ``shield/*`` table of the module docstring (what is not measured yet is left out)."""
        c = self._counts
        window = self._window_rate
        if window is None:
            window = c["window_switches"] / c["window_decisions"] if c["window_decisions"] else 0.0
        return {
            "shield/switch_rate": c["switches"] / c["decisions"] if c["decisions"] else 0.0,
            "shield/switch_rate_update": float(window),
            "shield/switches": float(c["switches"]),
            "shield/explored": float(c["explored"]),
            "shield/decisions": float(c["decisions"]),
            **self._last,
        }

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly (the evaluator, the counters, the last metrics).

        Tensors and plain data only: it loads with ``torch.load(weights_only=True)``.
        """
        get = getattr(self.baseline, "state", None)  # a planning baseline's forecast state
        baseline = get() if callable(get) else {}
        return {
            "config": asdict(self.cfg),
            "evaluator": self.evaluator.state(),
            "counts": dict(self._counts),
            "window_rate": self._window_rate,
            "explore_credit": self._explore_credit,
            "last": dict(self._last),
            "targets": None if self.targets is None else {k: v.tolist() for k, v in asdict(self.targets).items()},
            "baseline": {k: np.asarray(v).tolist() for k, v in baseline.items()},
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state`.

        Raises:
            ValueError: the state was written with another configuration.
        """
        saved = asdict(ShieldConfig()) | {k: tuple(v) if isinstance(v, list) else v for k, v in state["config"].items()}
        if saved != asdict(self.cfg):
            diff = sorted(k for k in saved.keys() | asdict(self.cfg).keys() if saved.get(k) != asdict(self.cfg).get(k))
            raise ValueError(f"load_state: written with another shield configuration (differs in {', '.join(diff)})")
        self.evaluator.load_state(state["evaluator"])
        self._counts = {k: int(v) for k, v in state["counts"].items()}
        self._window_rate = state["window_rate"]
        self._explore_credit = float(state["explore_credit"])
        self._last = dict(state["last"])
        t = state["targets"]
        self.targets = None if t is None else SlaTargets(**{k: np.asarray(v) for k, v in t.items()})
        load = getattr(self.baseline, "load_state", None)
        if callable(load):  # a planning baseline's forecast state (absent from states written before it had one)
            load({k: np.asarray(v, dtype=np.float64) for k, v in state.get("baseline", {}).items()})
