"""The oracle held to a fixed per-group split of every SLA: the least usage any fixed decomposition allows.

Per-domain agents (:mod:`netslice.intelligence.agents.domain_agents`) each keep their own group's latency
within its budget (:mod:`netslice.intelligence.decomposition`). With the fixed split the budgets are the
nominal shares of each slice's latency budget; the adaptive decomposition moves budget between groups, and at
best it reaches the split that the joint optimum itself realises. So, with the same search:

* the :class:`~netslice.intelligence.policies.oracle.Oracle` (``oracle``) is the least usage under the
  end-to-end SLA, a lower bound for every decomposition, adaptive or not;
* the oracle judged by a :class:`SplitJudge` (``oracle:split`` with the design-point shares,
  ``oracle:split-equal`` with each domain a quarter) is the least usage when every group must keep its own
  fixed budget, and every term no group has a budget for (throughput, frame rate, reliability) end to end,
  exactly as the per-domain agents are judged (:meth:`~netslice.intelligence.decomposition.SlaDecomposer.cost`).

``1 - oracle / oracle:split`` is then the most any rebalancing of the budgets can save against the fixed split,
the ceiling of the adaptive decomposition's gain, at the oracle's information. The forecast planner takes the
same judge (``ForecastPlanner(oracle=split_oracle(...))``) for the causal version. Meeting every group budget
meets the end-to-end latency term (the groups' latencies add up to the slice's latency less the application's),
so a split oracle's allocation meets the end-to-end SLA too, and never uses less than the oracle's.

>>> from netslice.network.scenarios import load
>>> judge = SplitJudge.create(load("metro-v0"), "equal")
>>> judge.decomposer.fixed_budgets_ms.shape  # (slices, groups)
(5, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from netslice.errors import ConfigError
from netslice.intelligence.decomposition import (
    DecompositionConfig,
    E2eRequirement,
    SlaDecomposer,
    group_latency,
    shared_cost,
)
from netslice.intelligence.decomposition_budgets import SHARES
from netslice.intelligence.policies.oracle import Oracle
from netslice.network.kernel import Kpis
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets

FloatArray = NDArray[np.float64]
#: Policy specs of :func:`split_oracle`, and the nominal shares each takes (:data:`SHARES`).
SPLIT_SPECS: dict[str, str] = {"oracle:split": "design", "oracle:split-equal": "equal"}


@dataclass(frozen=True)
class SplitJudge:
    """The SLA cost of a slot under a fixed per-group split (a :data:`~netslice.network.model.Judge`; module docstring).

    Attributes:
        decomposer: the fixed split (its budgets never move).
    """

    decomposer: SlaDecomposer

    @classmethod
    def create(cls, scenario: Scenario, shares: str | ArrayLike = "design") -> SplitJudge:
        """The fixed split of ``scenario``'s slices.

        Args:
            scenario: the scenario (its slices' SLAs and application latencies).
            shares: ``"design"``: each domain's latency at the slice's design point (the orchestrator's
                admission budgets, as ``netslice train --agents per-domain`` takes them); ``"equal"``: each
                domain a quarter; or explicit ``(K, 3)`` group shares.

        Raises:
            ConfigError: a scenario whose slices come and go, an unknown name, or shares not ``(K, 3)``, negative
                or not finite (named).
        """
        if scenario.spec.arrivals is not None:
            raise ConfigError(f"split oracle: scenario {scenario.spec.name!r} has slices that arrive and leave; the "
                              "split is of a fixed set of slices (the per-domain agents' scenarios)")  # fmt: skip
        requirement = E2eRequirement.from_scenario(scenario)
        if isinstance(shares, str):
            if shares not in SHARES:
                raise ConfigError(f"split oracle: shares must be one of {', '.join(map(repr, SHARES))} or a (K, 3) "
                                  f"array, got {shares!r}")  # fmt: skip
            nominal = _design_shares(scenario, requirement.n_slices) if shares == "design" else None
        else:
            nominal = np.asarray(shares, dtype=np.float64)
        return cls(SlaDecomposer.create(requirement, nominal, DecompositionConfig(method="fixed")))

    def __call__(self, targets: SlaTargets, kpis: Kpis) -> FloatArray:
        """Cost ``(n, K)``: the largest of the groups' costs against their fixed budgets (0 or less: all kept).

        Raises:
            ConfigError: KPIs of another number of slices than the split's.
        """
        dec = self.decomposer
        observed = group_latency(kpis, dec.requirement)  # (n, K, G)
        if observed.shape[1] != dec.requirement.n_slices:
            raise ConfigError(f"split oracle: the split has {dec.requirement.n_slices} slices, the network "
                              f"{observed.shape[1]}")  # fmt: skip
        cost: FloatArray = dec.cost(dec.initial(observed.shape[0]), observed, shared_cost(targets, kpis)).max(axis=-1)
        return cost


def split_oracle(
    scenario: Scenario, shares: str | ArrayLike = "design", weights: Sequence[float] | FloatArray | None = None
) -> Oracle:
    """The oracle whose search keeps every group within its fixed budget (:class:`SplitJudge`).

    Args:
        scenario: the scenario whose slices are split.
        shares: as in :meth:`SplitJudge.create`.
        weights: the usage objective's domain weights (default equal).
    """
    return Oracle.create(weights, judge=SplitJudge.create(scenario, shares))


def _design_shares(scenario: Scenario, n_slices: int) -> FloatArray | None:
    """The per-domain agents' design-point shares of ``scenario`` (from a one-network orchestrator's admission)."""
    from netslice.intelligence.envs.domains import design_shares  # the envs import the policies
    from netslice.orchestration.orchestrator import Orchestrator

    return design_shares(Orchestrator.create(scenario, n_envs=1, seed=0), n_slices)
