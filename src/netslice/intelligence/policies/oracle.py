"""The oracle: the least-usage allocation that meets every SLA, knowing the model and next-slot traffic.

It plans with the orchestrator's :class:`~netslice.orchestration.planning.PlanningModel` (a
:class:`~netslice.intelligence.policies.base.ModelPolicy`): the networks' state (next slot's active
UEs, queues, channel, the allocation in force) and the network model's own step, which evaluates
candidate allocations. So it is the lower bound on usage that agents are measured against. It is
not a deployable policy: no real operator knows next-slot traffic exactly.

Search, per slot, for all envs and slices at once. Slices are isolated (a slice's KPIs depend only
on its own column of the allocation), so every slice is searched in the same model calls, and
candidate directions are stacked along the env axis so that one call evaluates all of them.

1. MCS cap: with all the resources, the smallest cap knob (highest MCS) that meets the SLA; a
   lower cap only helps reliability and costs rate.
2. Directional line search: along a direction d in [0, 1]^5 over the share rows (max entry 1),
   bisection finds the least alpha with alpha * d meeting the SLA (KPIs are monotone in every
   share, so the feasible set along d is an interval [alpha*, 1]). Directions: uniform, each row
   emphasised, and seeded random ones.
3. Local refinement: around the best direction of each (env, slice), every row's entry is scaled
   by a few factors and the line search repeated; a few rounds.
4. A slice that cannot meet its SLA even with every resource gets every resource (least cost).
   When the slices' needs exceed a node's capacity the orchestrator scales them down
   proportionally, as it does for any action.

Usage is the operator's :class:`~netslice.orchestration.objective.Objective` (the reward's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.policies.base import PolicyContext
from netslice.network.allocation import CN_CPU, EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, PRB_DL, PRB_UL, TN_BW
from netslice.network.kernel import SimParams
from netslice.network.model import Judge
from netslice.network.scenarios.sla import sla_cost
from netslice.orchestration.objective import Objective
from netslice.orchestration.planning import PlanningModel

FloatArray = NDArray[np.float64]
#: Cost ``(D, n_envs, n_slices)`` of ``D`` stacked candidate allocations in the coming slot.
_Evaluate = Callable[[FloatArray], FloatArray]

#: Share rows searched.
SEARCH_ROWS = (EDGE_CPU, PRB_UL, PRB_DL, TN_BW, CN_CPU)
#: The MCS cap knobs tried, one per backoff b = 0..10 CQI steps (:func:`~netslice.network.ran.mcs_backoff`,
#: ``floor(10 knob)``): 0 (no cap), the middle of each step's interval ``(b + 0.5) / 10`` for b = 1..9, and 1.
#: A knob at the middle gives the same backoff as the step's edge ``b / 10`` (the same KPIs), but a learner that
#: imitates it (behaviour cloning, :mod:`netslice.intelligence.imitation`) lands on the same step when it is off
#: by less than 0.05; at the edge, being 1e-4 low is one CQI step less backoff (measured: a forecast-planner clone
#: violating IoT's reliability SLA in 99.5 % of slots).
MCS_KNOBS = (0.0, *((b + 0.5) / 10 for b in range(1, 10)), 1.0)


def every_resource(n_envs: int, n_slices: int) -> FloatArray:
    """``(n_envs, n_resources, n_slices)``: every searched share at 1, MCS caps at 0 (the search's base)."""
    base = np.zeros((n_envs, N_RESOURCES, n_slices))
    base[:, list(SEARCH_ROWS), :] = 1.0
    return base


def knob_trials(base: FloatArray) -> FloatArray:
    """``(len(MCS_KNOBS), *base.shape)``: ``base`` with each MCS cap knob of :data:`MCS_KNOBS` on both directions."""
    trials = np.broadcast_to(base, (len(MCS_KNOBS), *base.shape)).copy()
    trials[:, :, [MCS_UL, MCS_DL], :] = np.asarray(MCS_KNOBS)[:, None, None, None]
    return trials


@dataclass
class Oracle:
    """Oracle policy (see the module docstring); a :class:`~netslice.intelligence.policies.base.ModelPolicy`.

    Attributes:
        objective: the weighted usage minimised (the reward's objective).
        steps: bisection steps per line search.
        n_random: random directions in the first round.
        rounds: local refinement rounds.
        seed: seed of the random directions (the oracle is deterministic).
        judge: what the search keeps at or below 0 (:data:`~netslice.network.model.Judge`; default the end-to-end
            SLA cost; :class:`~netslice.intelligence.policies.split_oracle.SplitJudge` holds a per-domain split).
    """

    objective: Objective = field(default_factory=Objective.create)
    steps: int = 12
    n_random: int = 8
    rounds: int = 6
    seed: int = 0
    judge: Judge = sla_cost

    @classmethod
    def create(
        cls,
        weights: Sequence[float] | FloatArray | None = None,
        steps: int = 12,
        n_random: int = 8,
        rounds: int = 6,
        judge: Judge = sla_cost,
    ) -> Oracle:
        """An oracle minimising the usage with domain ``weights`` (default equal; see :class:`Objective`)."""
        return cls(objective=Objective.create(weights), steps=steps, n_random=n_random, rounds=rounds, judge=judge)

    def act_model(self, ctx: PolicyContext, model: PlanningModel) -> FloatArray:
        """:class:`~netslice.intelligence.policies.base.ModelPolicy` entry: plan for the true coming load."""
        return self.plan(model)

    def plan(self, model: PlanningModel, load: FloatArray | None = None) -> FloatArray:
        """The allocation ``(n_envs, n_resources, n_slices)`` for the coming slot.

        Args:
            model: the planning model of the orchestrator's coming slot.
            load: ``(n_envs, n_slices)`` active UEs to plan for; default: the coming slot's true load
                (clairvoyance). A forecast here turns the oracle into a causal model-predictive planner.

        Raises:
            ConfigError: ``load`` is not finite, non-negative and shaped ``(n_envs, n_slices)``.
        """
        probe = model.probe(load)

        def evaluate(candidates: FloatArray) -> FloatArray:
            return probe.cost(candidates, model.targets, self.judge)

        n_envs, n_slices = model.load_shape
        return self.search(evaluate, (n_envs, n_slices), model.params, model.active)

    def search(
        self, evaluate: _Evaluate, shape: tuple[int, int], params: SimParams, active: NDArray[np.bool_]
    ) -> FloatArray:
        """The least-usage allocation ``(n_envs, n_resources, n_slices)`` meeting the SLAs per ``evaluate``.

        Steps 1-4 of the module docstring, on any model of the coming slot (:meth:`plan`'s probe, or a
        design state such as the rule-based policy's dimensioning).

        Args:
            evaluate: SLA cost ``(D, n_envs, n_slices)`` of stacked candidates ``(D, n_envs, n_resources, n_slices)``.
            shape: ``(n_envs, n_slices)``.
            params: the scenario's parameters (the usage objective's capacities).
            active: ``(n_slices,)`` provisioned slices (the others get 0).
        """
        n_envs, n_slices = shape
        n_rows = len(SEARCH_ROWS)
        base = every_resource(n_envs, n_slices)
        knob = self._mcs_knob(base, evaluate)
        base[:, MCS_UL, :] = knob
        base[:, MCS_DL, :] = knob
        feasible = evaluate(base[None])[0] <= 0.0

        rng = np.random.default_rng(self.seed)
        first = [np.ones(n_rows)] + [np.where(np.arange(n_rows) == r, 1.0, 0.3) for r in range(n_rows)]
        first += list(rng.dirichlet(np.ones(n_rows), size=self.n_random))
        dirs = np.stack([np.broadcast_to(d[None, :, None], (n_envs, n_rows, n_slices)) for d in first])
        best_dir, best_alloc, best_usage = self._search(dirs, base, evaluate, params)
        factors = (0.5, 0.75, 1.33, 2.0)
        for _ in range(self.rounds):
            cands = [best_dir]
            for r in range(n_rows):
                for f in factors:
                    d = best_dir.copy()
                    d[:, r, :] *= f
                    cands.append(d)
            d_new, a_new, u_new = self._search(np.stack(cands), base, evaluate, params)
            better = u_new < best_usage
            best_dir = np.where(better[:, None, :], d_new, best_dir)
            best_alloc = np.where(better[:, None, :], a_new, best_alloc)
            best_usage = np.minimum(u_new, best_usage)
        out: FloatArray = np.where(feasible[:, None, :], best_alloc, base)
        out[:, :, ~active] = 0.0
        return out

    def _search(
        self, dirs: FloatArray, base: FloatArray, evaluate: _Evaluate, params: SimParams
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Line searches along ``dirs`` ``(D, n_envs, 5, n_slices)``; the best of the D per (env, slice).

        Returns:
            ``(direction, allocation, usage)`` of the best feasible point per (env, slice) (usage inf
            where no direction is feasible).
        """
        dirs = dirs / np.maximum(dirs.max(axis=2, keepdims=True), 1e-12)
        lo = np.zeros((dirs.shape[0], dirs.shape[1], dirs.shape[3]))
        hi = np.ones_like(lo)
        rows = list(SEARCH_ROWS)

        def at(alpha: FloatArray) -> FloatArray:
            trial = np.broadcast_to(base, (dirs.shape[0], *base.shape)).copy()
            trial[:, :, rows, :] = alpha[:, :, None, :] * dirs
            return trial

        ok_full = evaluate(at(hi)) <= 0.0
        for _ in range(self.steps):
            mid = 0.5 * (lo + hi)
            ok = evaluate(at(mid)) <= 0.0
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        allocs = at(hi)
        usage = np.where(ok_full, self.objective.allocation_usage(params, allocs), np.inf)  # (D, E, K)
        pick = usage.argmin(axis=0)  # (E, K)
        e_idx, k_idx = np.indices(pick.shape)
        best_dir = dirs[pick, e_idx, :, k_idx].transpose(0, 2, 1)  # (E, 5, K)
        best_alloc = allocs[pick, e_idx, :, k_idx].transpose(0, 2, 1)
        return best_dir, best_alloc, usage[pick, e_idx, k_idx]

    def _mcs_knob(self, base: FloatArray, evaluate: _Evaluate) -> FloatArray:
        """Per (env, slice): the smallest knob meeting the SLA with all resources (0 when none does)."""
        ok = evaluate(knob_trials(base)) <= 0.0  # (n_knobs, E, K)
        first = ok.argmax(axis=0)
        return np.where(ok.any(axis=0), np.asarray(MCS_KNOBS)[first], 0.0)
