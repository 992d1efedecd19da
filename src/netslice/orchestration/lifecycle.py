"""Slice lifecycle: ServiceProfile -> SLA terms, admission control with a feasibility check, registry.

The scenario defines which slices the infrastructure can carry (their S-NSSAI, traffic model and
demand); a :class:`~netslice.orchestration.nrm.NetworkSlice` provisions one of them with a
ServiceProfile. Admission control answers "can this profile be met with the capacity not yet
reserved by other slices?": it asks the network model (:mod:`netslice.network.model`) for one
slot at ``maxNumberofUEs`` (default: the slice's peak traffic) with the slice given a fraction
alpha of every remaining share, finds by bisection the smallest alpha that meets every SLA term
(KPIs are monotone in every share), trying a few MCS caps (reliability-bound slices need one), and
reserves that allocation. A profile is
rejected when even all the remaining capacity (alpha = 1) misses a term at every cap, or when its
latency is below the slice's latency floor.

ServiceProfile -> SLA terms (TS 28.541 names): latency <= min(dLLatency, uLLatency) ms (end-to-end
bound of the slice's latency KPI), DL/UL throughput >= dLThptPerSlice/uLThptPerSlice.guaThpt kbit/s,
reliability >= min(dLReliability, uLReliability) / 100. The frame-rate term has no 3GPP attribute and
stays as the scenario defines it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from netslice.network.allocation import EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, SHARE_ROWS
from netslice.network.kernel import Kpis
from netslice.network.model import NetworkModel
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.builder import latency_floor_ms
from netslice.network.scenarios.sla import SlaTargets, sla_cost, violated_terms
from netslice.orchestration.domains import DomainManager
from netslice.orchestration.nrm import PlmnId, PlmnInfo, ServiceProfile, Snssai, XLThpt

FloatArray = NDArray[np.float64]

#: SLA term names and the SlaTargets fields they set.
TERMS = ("latency_ms", "thp_dl_kbps", "thp_ul_kbps", "reliability")
#: PLMN used for profiles built from a scenario (test PLMN 001-01, TS 23.003).
DEFAULT_PLMN = PlmnId(mcc="001", mnc="01")
#: Bisection steps of the feasibility search (alpha resolution 2^-14).
BISECTION_STEPS = 14
#: MCS cap knobs tried by the feasibility check (reliability-bound slices need a cap).
MCS_KNOBS = (0.0, 0.3, 0.6, 1.0)


@dataclass(frozen=True)
class Feasibility:
    """Outcome of an admission check.

    Attributes:
        feasible: whether the profile can be met with the remaining capacity.
        reason: why not (empty when feasible).
        reservation: ``(n_resources,)`` smallest allocation found that meets the SLA (zeros when infeasible).
        kpis: the slice's KPIs at that allocation (or at all remaining capacity when infeasible).
    """

    feasible: bool
    reason: str
    reservation: FloatArray
    kpis: Kpis


@dataclass(frozen=True)
class SliceRecord:
    """A provisioned slice.

    Attributes:
        slice_id: NetworkSlice id.
        index: the scenario slice it occupies.
        profile: its ServiceProfile.
        terms: SLA terms derived from the profile (``None`` = no such term).
        n_ues: UEs admission was checked for.
        reservation: ``(n_resources,)`` allocation reserved at admission.
        budgets: per-domain SLA budgets from the decomposition hook.
    """

    slice_id: str
    index: int
    profile: ServiceProfile
    terms: dict[str, float | None]
    n_ues: float
    reservation: FloatArray
    budgets: dict[str, dict[str, float]]


def profile_terms(profile: ServiceProfile) -> dict[str, float | None]:
    """SLA terms of a ServiceProfile (see the module docstring)."""
    latencies = [v for v in (profile.dl_latency, profile.ul_latency) if v is not None]
    reliabilities = [v for v in (profile.dl_reliability, profile.ul_reliability) if v is not None]

    def gua(x: XLThpt | None) -> float | None:
        return None if x is None or x.gua_thpt is None else float(x.gua_thpt)

    return {
        "latency_ms": float(min(latencies)) if latencies else None,
        "thp_dl_kbps": gua(profile.dl_thpt_per_slice),
        "thp_ul_kbps": gua(profile.ul_thpt_per_slice),
        "reliability": float(min(reliabilities)) / 100.0 if reliabilities else None,
    }


def scenario_profile(scenario: Scenario, k: int) -> ServiceProfile:
    """The ServiceProfile equivalent to slice ``k``'s SLA in the scenario."""
    spec = scenario.spec.slices[k]
    snssai = Snssai(sst=spec.snssai.sst, sd=spec.snssai.sd)
    sla = spec.sla
    data: dict[str, object] = {
        "serviceProfileId": f"sp-{spec.name}",
        "plmnInfoList": [PlmnInfo(plmn_id=DEFAULT_PLMN, snssai=snssai)],
        "sst": spec.snssai.sst,
        "maxNumberofUEs": max(1, round(float(scenario.params.traffic.scale[k]))),
    }
    if sla.latency_ms is not None:
        data["dLLatency"] = sla.latency_ms
    if sla.thp_dl_kbps is not None:
        data["dLThptPerSlice"] = XLThpt(gua_thpt=sla.thp_dl_kbps)
    if sla.thp_ul_kbps is not None:
        data["uLThptPerSlice"] = XLThpt(gua_thpt=sla.thp_ul_kbps)
    if sla.reliability is not None:
        data["dLReliability"] = sla.reliability * 100.0
    return ServiceProfile.model_validate(data)


def slice_index(scenario: Scenario, snssai: Snssai) -> int | None:
    """The scenario slice with this S-NSSAI, or ``None``."""
    for k, s in enumerate(scenario.spec.slices):
        if Snssai(sst=s.snssai.sst, sd=s.snssai.sd) == snssai:
            return k
    return None


def targets_with(base: SlaTargets, k: int, terms: dict[str, float | None]) -> SlaTargets:
    """``base`` with slice ``k``'s 3GPP terms replaced (NaN = no term)."""
    cols = {}
    for name in TERMS:
        col = np.array(getattr(base, name), dtype=np.float64, copy=True)
        value = terms.get(name)
        col[k] = np.nan if value is None else value
        cols[name] = col
    return replace(
        base,
        latency_ms=cols["latency_ms"],
        thp_dl_kbps=cols["thp_dl_kbps"],
        thp_ul_kbps=cols["thp_ul_kbps"],
        reliability=cols["reliability"],
    )


def remaining_capacity(scenario: Scenario, reserved: dict[int, FloatArray], k: int) -> FloatArray:
    """``(n_resources,)`` share of each node slice ``k`` could still get (MCS knob rows: 1)."""
    site = scenario.params.edge.site_of_slice
    out = np.ones(N_RESOURCES)
    for j, res in reserved.items():
        if j == k:
            continue
        for row in SHARE_ROWS:
            if row == EDGE_CPU and site[j] != site[k]:
                continue
            out[row] -= res[row]
    return np.clip(out, 0.0, 1.0)


def check_feasibility(
    model: NetworkModel,
    base: SlaTargets,
    k: int,
    terms: dict[str, float | None],
    n_ues: float,
    available: FloatArray,
) -> Feasibility:
    """Admission check of slice ``k`` with ``terms`` at ``n_ues`` UEs within ``available`` shares.

    Asks the network model in steady state (an idle network, the candidate already in force) on the
    reference numpy kernel, so that an admission decision does not depend on whether numba is installed.
    """
    params = model.params
    floor = float(latency_floor_ms(params)[k])
    latency = terms.get("latency_ms")
    targets = targets_with(base, k, terms)
    state = model.idle(1)
    load = state.traffic.load.copy()
    load[0, k] = n_ues
    probe = model.using("numpy").probe(state, load, steady=True)

    def run(alpha: float, knob: float) -> tuple[float, Kpis]:
        alloc = np.zeros((1, 1, N_RESOURCES, params.n_slices))
        alloc[0, 0, list(SHARE_ROWS), k] = alpha * available[list(SHARE_ROWS)]
        alloc[0, 0, [MCS_UL, MCS_DL], k] = knob
        kpis = probe.kpis(alloc)
        return float(sla_cost(targets, kpis)[0, k]), kpis

    if latency is not None and latency <= floor:
        return Feasibility(False, f"dLLatency/uLLatency: {latency:g} ms is below the slice's latency floor "
                           f"{floor:.3f} ms (application + scheduling + propagation)", np.zeros(N_RESOURCES),
                           run(1.0, 0.0)[1])  # fmt: skip
    knobs = sorted({float(params.initial_allocation[MCS_UL, k]), *MCS_KNOBS})
    best: tuple[float, float, Kpis] | None = None  # (alpha, knob, kpis)
    for knob in knobs:
        cost_all, kpis_all = run(1.0, knob)
        if cost_all > 0.0:
            continue
        lo, hi, kpis_hi = 0.0, 1.0, kpis_all
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            cost_mid, kpis_mid = run(mid, knob)
            if cost_mid > 0.0:
                lo = mid
            else:
                hi, kpis_hi = mid, kpis_mid
        if best is None or hi < best[0]:
            best = (hi, knob, kpis_hi)
    if best is None:
        kpis_all = run(1.0, 0.0)[1]
        missed = ", ".join(violated_terms(targets, kpis_all, 0, k)) or "SLA"
        return Feasibility(False, f"insufficient capacity: {missed} not met at {n_ues:g} UEs even with all the "
                           "remaining capacity, at any MCS cap", np.zeros(N_RESOURCES), kpis_all)  # fmt: skip
    hi, knob, kpis_hi = best
    reservation = np.zeros(N_RESOURCES)
    reservation[list(SHARE_ROWS)] = hi * available[list(SHARE_ROWS)]
    reservation[[MCS_UL, MCS_DL]] = knob
    return Feasibility(True, "", reservation, kpis_hi)


# ------------------------------------------------------------------------------- reservation in force


def put_reservation_in_force(
    managers: Mapping[str, DomainManager], k: int, reservation: FloatArray, reserved: Mapping[int, FloatArray]
) -> None:
    """Give slice ``k`` at least its admitted ``reservation`` in every domain, from the next slot.

    * RAN: the slice's RRMPolicyRatio per direction becomes dedicated = max(dedicated, reserved PRB share),
      min = max(min, dedicated), max = max(max, min) (a released slice, 0/0/0, gets d = m = M = its
      reservation, the fast path's meaning of a share); its MCS caps become the reserved ones (the SLA was
      checked at those). Its need estimate is raised to its min, so the first slot uses its guarantee.
    * Transport, core, edge: the slice's share becomes max(share, reserved share).

    Other slices on the same node give up what they hold above their own ``reserved`` shares (see
    :func:`make_room`), so the cell's dedicated and min sums and every node's shares stay within 1.
    Everything is computed first and validated; on an error nothing has changed.

    Args:
        managers: the domain managers (their allocations in force are updated).
        k: the admitted slice.
        reservation: ``(n_resources,)`` its reservation.
        reserved: reservations of the other provisioned slices, by slice index.

    Raises:
        InvalidAllocationError: the result breaks a domain's rule (a bug: reservations always fit).
    """
    n_slices = next(iter(managers.values())).in_force.shape[-1]
    floor = np.zeros((N_RESOURCES, n_slices))
    for j, res in reserved.items():
        if j != k:
            floor[:, j] = res
    staged = {name: mgr.stage_reservation(k, reservation, floor) for name, mgr in managers.items()}
    for name, change in staged.items():  # every domain validated: commit them all
        managers[name].commit(change)
