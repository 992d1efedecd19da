"""The oracle: the least-usage allocation that meets every SLA, knowing the model and next-slot traffic.

It reads the simulator's state (next slot's active UEs, queues, channel, the allocation in force)
and evaluates candidate allocations with the model's own step, so it is the lower bound on usage
that agents are measured against. It is not a deployable policy: no real operator knows next-slot
traffic exactly.

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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.policies.base import PolicyContext
from netslice.network import fused
from netslice.network.allocation import CN_CPU, EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, PRB_DL, PRB_UL, TN_BW
from netslice.network.kernel import SimParams, SimState, slice_usage, step
from netslice.network.scenarios.sla import SlaTargets, sla_cost
from netslice.orchestration.orchestrator import Orchestrator

FloatArray = NDArray[np.float64]
#: Cost ``(n_envs, n_slices)`` of a candidate allocation in the coming slot.
_Evaluate = Callable[[FloatArray], FloatArray]

#: Share rows searched, and the MCS cap knobs tried (0.1 apart: one CQI step each).
SEARCH_ROWS = (EDGE_CPU, PRB_UL, PRB_DL, TN_BW, CN_CPU)
MCS_KNOBS = tuple(i / 10 for i in range(11))


@dataclass
class Oracle:
    """Oracle policy over an orchestrator (see the module docstring).

    Attributes:
        orch: the orchestrator whose simulator the oracle reads (set by :meth:`act_context` when None).
        weights: ``(4,)`` weight of each domain's usage (ran, tn, cn, edge), as in the reward.
        steps: bisection steps per line search.
        n_random: random directions in the first round.
        rounds: local refinement rounds.
        seed: seed of the random directions (the oracle is deterministic).
    """

    #: The oracle reads the in-process orchestrator (``PolicyContext.of(orch, with_model=True)``).
    needs_model: ClassVar[bool] = True

    orch: Orchestrator | None
    weights: FloatArray
    steps: int = 12
    n_random: int = 8
    rounds: int = 6
    seed: int = 0
    _packed: fused.Packed | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        orch: Orchestrator | None,
        weights: FloatArray | None = None,
        steps: int = 12,
        n_random: int = 8,
        rounds: int = 6,
    ) -> Oracle:
        """An oracle with equal domain weights by default."""
        w = np.full(4, 0.25) if weights is None else np.asarray(weights, dtype=np.float64)
        return cls(orch=orch, weights=w, steps=steps, n_random=n_random, rounds=rounds)

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """:class:`~netslice.intelligence.policies.base.ContextPolicy` entry: needs ``ctx.orchestrator``."""
        if ctx.orchestrator is None:
            raise ConfigError("oracle: needs the in-process orchestrator (PolicyContext.of(orch, with_model=True))")
        self.bind(ctx.orchestrator)
        return self.act()

    def bind(self, orch: Orchestrator) -> bool:
        """Search ``orch``'s model from now on; True when that is a different orchestrator than before."""
        if orch is self.orch:
            return False
        self.orch, self._packed = orch, None
        return True

    def act(self, load: FloatArray | None = None) -> FloatArray:
        """The allocation ``(n_envs, n_resources, n_slices)`` for the coming slot.

        Args:
            load: ``(n_envs, n_slices)`` active UEs to plan for; default: the coming slot's true load
                (clairvoyance). A forecast here turns the oracle into a causal model-predictive planner.
        """
        if self.orch is None:
            raise ConfigError("oracle: no orchestrator (create it with one, or call act_context)")
        params = self.orch.scenario.params
        if self._packed is None and self.orch.sim.backend == "fused":
            self._packed = fused.pack(params)
        state = self.orch.sim.state
        if load is not None:
            if load.shape != state.traffic.load.shape or not np.all(np.isfinite(load)) or np.any(load < 0):
                raise ConfigError(f"oracle: load must be finite, >= 0 and shaped {state.traffic.load.shape}")
            state = replace(state, traffic=replace(state.traffic, load=np.ascontiguousarray(load, dtype=np.float64)))
        n_envs, n_slices = state.traffic.load.shape
        n_rows = len(SEARCH_ROWS)
        base = np.zeros((n_envs, N_RESOURCES, n_slices))
        base[:, list(SEARCH_ROWS), :] = 1.0
        evaluate = _evaluator(params, state, self.orch.assurance.targets, self._packed)
        knob = self._mcs_knob(base, evaluate)
        base[:, MCS_UL, :] = knob
        base[:, MCS_DL, :] = knob
        feasible = evaluate(base[None])[0] <= 0.0

        rng = np.random.default_rng(self.seed)
        first = [np.ones(n_rows)] + [np.where(np.arange(n_rows) == r, 1.0, 0.3) for r in range(n_rows)]
        first += list(rng.dirichlet(np.ones(n_rows), size=self.n_random))
        dirs = np.stack([np.broadcast_to(d[None, :, None], (n_envs, n_rows, n_slices)) for d in first])
        best_dir, best_alloc, best_usage = self._search(dirs, base, evaluate)
        factors = (0.5, 0.75, 1.33, 2.0)
        for _ in range(self.rounds):
            cands = [best_dir]
            for r in range(n_rows):
                for f in factors:
                    d = best_dir.copy()
                    d[:, r, :] *= f
                    cands.append(d)
            d_new, a_new, u_new = self._search(np.stack(cands), base, evaluate)
            better = u_new < best_usage
            best_dir = np.where(better[:, None, :], d_new, best_dir)
            best_alloc = np.where(better[:, None, :], a_new, best_alloc)
            best_usage = np.minimum(u_new, best_usage)
        out: FloatArray = np.where(feasible[:, None, :], best_alloc, base)
        out[:, :, ~self.orch.active] = 0.0
        return out

    def _search(
        self, dirs: FloatArray, base: FloatArray, evaluate: _Evaluate
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
        usage = np.where(ok_full, self._usage(allocs), np.inf)  # (D, E, K)
        pick = usage.argmin(axis=0)  # (E, K)
        e_idx, k_idx = np.indices(pick.shape)
        best_dir = dirs[pick, e_idx, :, k_idx].transpose(0, 2, 1)  # (E, 5, K)
        best_alloc = allocs[pick, e_idx, :, k_idx].transpose(0, 2, 1)
        return best_dir, best_alloc, usage[pick, e_idx, k_idx]

    def _mcs_knob(self, base: FloatArray, evaluate: _Evaluate) -> FloatArray:
        """Per (env, slice): the smallest knob meeting the SLA with all resources (0 when none does)."""
        trials = np.broadcast_to(base, (len(MCS_KNOBS), *base.shape)).copy()
        for i, value in enumerate(MCS_KNOBS):
            trials[i, :, [MCS_UL, MCS_DL], :] = value
        ok = evaluate(trials) <= 0.0  # (n_knobs, E, K)
        first = ok.argmax(axis=0)
        return np.where(ok.any(axis=0), np.asarray(MCS_KNOBS)[first], 0.0)

    def _usage(self, alloc: FloatArray) -> FloatArray:
        """Weighted usage of each slice's column, ``alloc.shape`` without the resource axis."""
        assert self.orch is not None
        out: FloatArray = np.einsum("d,...dk->...k", self.weights, slice_usage(self.orch.scenario.params, alloc))
        return out


def _tile(state: SimState, n: int) -> SimState:
    """``state`` repeated ``n`` times along the env axis (copy n of env e is env c * n_envs + e)."""

    def rep(x: NDArray[Any]) -> NDArray[Any]:
        return np.ascontiguousarray(np.concatenate([x] * n, axis=0))

    traffic = replace(
        state.traffic, noise=rep(state.traffic.noise), burst=rep(state.traffic.burst),
        day=rep(state.traffic.day), load=rep(state.traffic.load),
    )  # fmt: skip
    return SimState(
        t=rep(state.t), traffic=traffic, shadow=rep(state.shadow), q_ran=rep(state.q_ran), q_tn=rep(state.q_tn),
        q_cn=rep(state.q_cn), q_edge=rep(state.q_edge), alloc=rep(state.alloc),
    )  # fmt: skip


def _evaluator(params: SimParams, state: SimState, targets: SlaTargets, packed: fused.Packed | None) -> _Evaluate:
    """Cost ``(D, n_envs, n_slices)`` of ``D`` stacked candidate allocations ``(D, n_envs, ...)`` in the coming slot."""
    rng = np.random.default_rng(0)  # only the next slot's traffic draws use it; they do not affect the KPIs
    tiled: dict[int, SimState] = {}

    def evaluate(alloc: FloatArray) -> FloatArray:
        n = alloc.shape[0]
        if n not in tiled:
            tiled[n] = _tile(state, n)
        flat = np.ascontiguousarray(alloc.reshape(-1, *alloc.shape[2:]))
        if packed is not None:
            kpis = fused.fused_step(packed, tiled[n], flat, rng)[1]
        else:
            kpis = step(params, tiled[n], flat, rng)[1]
        return sla_cost(targets, kpis).reshape(n, *alloc.shape[1:2], -1)

    return evaluate
