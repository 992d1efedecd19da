"""NRM views of the orchestrator: the slow path used by the REST API, over the same arrays as agents.

Every function reads or writes the domain managers' allocation of every env (an operator's
provisioning applies to all simulated networks alike) and reports env 0. Writes go through the
same validation as the fast path and change nothing when they fail.

* RAN: RRMPolicyRatio MOIs under the DU function (one policy per slice and direction, applying to
  all cells), enforced with :mod:`netslice.orchestration.rrm` semantics. Default ids:
  ``rrm-<slice>-ul`` and ``rrm-<slice>-dl``.
* Transport: an IETF-style :class:`TransportSliceAllocation` per slice; its bandwidth bound is the
  slice's share times the bottleneck capacity of its N3 + N6 path.
* Core and edge: :class:`ComputeAllocation` (vCPUs) per slice.
* Assurance: :class:`SliceKpiRecord` of the last slot with TS 28.552/28.554 names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from netslice.errors import ConflictError, InvalidAllocationError, NotFoundError
from netslice.network.allocation import CN_CPU, EDGE_CPU, TN_BW
from netslice.orchestration.domains import DomainManager
from netslice.orchestration.lifecycle import DEFAULT_PLMN
from netslice.orchestration.nrm import (
    ComputeAllocation,
    ComputeDomain,
    PlmnId,
    ResourceType,
    RRMPolicyMember,
    RRMPolicyRatio,
    SliceKpiRecord,
    SloMetricBound,
    SloMetricType,
    Snssai,
    TransportSliceAllocation,
    share_to_ratio,
)
from netslice.orchestration.orchestrator import Orchestrator

#: Resource type -> directions ([UL, DL] indices) of the RAN arrays.
DIRECTIONS = {ResourceType.PRB_UL: (0,), ResourceType.PRB_DL: (1,), ResourceType.PRB: (0, 1)}
#: Start of simulated time for KPI record timestamps.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def snssai_of(orch: Orchestrator, k: int) -> Snssai:
    """S-NSSAI of scenario slice ``k``."""
    s = orch.scenario.spec.slices[k].snssai
    return Snssai(sst=s.sst, sd=s.sd)


def index_of(orch: Orchestrator, snssai: Snssai) -> int:
    """The provisioned slice with this S-NSSAI.

    Raises:
        NotFoundError: no provisioned slice has it.
    """
    for record in orch.records.values():
        if snssai_of(orch, record.index) == snssai:
            return record.index
    raise NotFoundError(f"snssai: no provisioned slice has S-NSSAI {snssai.key}")


def plmns_of(orch: Orchestrator, k: int) -> list[PlmnId]:
    """PLMNs the provisioned slice ``k`` serves with its S-NSSAI (its ServiceProfile's ``plmnInfoList``)."""
    snssai = snssai_of(orch, k)
    for record in orch.records.values():
        if record.index == k:
            plmns = [i.plmn_id for i in record.profile.plmn_info_list if i.snssai == snssai]
            return list(dict.fromkeys(plmns)) or [DEFAULT_PLMN]
    return [DEFAULT_PLMN]


# ------------------------------------------------------------------------------------------ RAN


def _policy_ids(orch: Orchestrator) -> dict[str, tuple[tuple[int, ...], int]]:
    """Policy id -> (directions, slice) for every provisioned slice (ids set by PUT take precedence)."""
    ids = dict(_ran(orch).rrm_ids)
    taken = {(d, k) for dirs, k in ids.values() for d in dirs}
    for record in orch.records.values():
        name = orch.scenario.params.slice_names[record.index]
        for d, suffix in ((0, "ul"), (1, "dl")):
            default = f"rrm-{name}-{suffix}"
            if (d, record.index) not in taken and default not in ids:
                ids[default] = ((d,), record.index)
    return {pid: v for pid, v in ids.items() if orch.active[v[1]]}


def rrm_policies(orch: Orchestrator) -> list[RRMPolicyRatio]:
    """Every RRMPolicyRatio in force (env 0)."""
    return [get_rrm_policy(orch, pid) for pid in sorted(_policy_ids(orch))]


def get_rrm_policy(orch: Orchestrator, policy_id: str) -> RRMPolicyRatio:
    """One RRMPolicyRatio (env 0).

    Raises:
        NotFoundError: no such policy.
    """
    ids = _policy_ids(orch)
    if policy_id not in ids:
        raise NotFoundError(f"RRMPolicyRatio={policy_id}: no such policy")
    dirs, k = ids[policy_id]
    rrm = _ran(orch).rrm
    assert rrm is not None, "the RAN manager always carries RRM state"
    d = dirs[0]
    rtype = ResourceType.PRB if len(dirs) == 2 else (ResourceType.PRB_UL if d == 0 else ResourceType.PRB_DL)
    member = RRMPolicyMember(plmn_id=plmns_of(orch, k)[0], snssai=snssai_of(orch, k))
    return share_to_ratio(
        float(rrm.dedicated[0, d, k]), float(rrm.minimum[0, d, k]), float(rrm.maximum[0, d, k]),
        policy_id=policy_id, resource_type=rtype, members=[member],
    )  # fmt: skip


def put_rrm_policy(orch: Orchestrator, policy: RRMPolicyRatio) -> RRMPolicyRatio:
    """Create or replace an RRMPolicyRatio; its quotas apply from the next slot.

    Raises:
        InvalidAllocationError: unsupported resource type, several members, or cell sums above 100 %.
        NotFoundError: no provisioned slice serves the member's (PLMN, S-NSSAI).
        ConflictError: another policy already covers that slice and resource.
    """
    attrs = policy.attributes
    if attrs.resource_type not in DIRECTIONS:
        raise InvalidAllocationError(f"resourceType: must be one of PRB, PRB_UL, PRB_DL, got {attrs.resource_type}")
    if len(attrs.rrm_policy_member_list) != 1:
        raise InvalidAllocationError("rRMPolicyMemberList: netslice policies have exactly one member (one slice)")
    member = attrs.rrm_policy_member_list[0]
    k = index_of(orch, member.snssai)
    plmns = plmns_of(orch, k)
    if member.plmn_id not in plmns:
        raise NotFoundError(
            f"rRMPolicyMemberList.0.plmnId: no provisioned slice serves PLMN {member.plmn_id.key} with S-NSSAI "
            f"{member.snssai.key} (its slice serves {', '.join(p.key for p in plmns)})"
        )
    dirs = DIRECTIONS[attrs.resource_type]
    ran = _ran(orch)
    for pid, (other_dirs, j) in _policy_ids(orch).items():
        if pid != policy.id and j == k and set(other_dirs) & set(dirs) and pid in ran.rrm_ids:
            raise ConflictError(f"rRMPolicyMemberList: S-NSSAI already in RRMPolicyRatio={pid} for this resource")
    ratios = (attrs.dedicated / 100, attrs.rrm_policy_min_ratio / 100, attrs.rrm_policy_max_ratio / 100)
    ran.put_rrm_policy(policy.id, dirs, k, ratios)
    return get_rrm_policy(orch, policy.id)


def delete_rrm_policy(orch: Orchestrator, policy_id: str) -> None:
    """Remove a policy: the slice falls back to best effort (dedicated 0, min 0, max 100 %).

    Every provisioned slice always has a quota per direction, so afterwards the slice's default
    policy (``rrm-<slice>-<ul|dl>``) shows that best-effort quota.
    """
    ids = _policy_ids(orch)
    if policy_id not in ids:
        raise NotFoundError(f"RRMPolicyRatio={policy_id}: no such policy")
    dirs, k = ids[policy_id]
    _ran(orch).delete_rrm_policy(policy_id, dirs, k)


def _ran(orch: Orchestrator) -> DomainManager:
    """The RAN manager: the one owner of the RRMPolicyRatio quotas and the NRM policy ids."""
    return orch.managers["ran"]


# ------------------------------------------------------------------------------------ transport


def _bottleneck_mbps(orch: Orchestrator, k: int) -> float:
    """Smallest link capacity on the N3 path of the slice's first cell plus its N6 path (Mbit/s)."""
    tn = orch.scenario.params.transport
    first_cell = np.zeros(tn.access.shape[0])
    first_cell[0] = 1.0
    access = np.asarray(first_cell @ tn.access)
    on_path = (access > 0) | (tn.n6[k] > 0)
    return float(tn.capacity_bps[on_path].min() / 1e6) if on_path.any() else float(tn.capacity_bps.min() / 1e6)


def transport_allocation(orch: Orchestrator, k: int) -> TransportSliceAllocation:
    """The slice's transport allocation (env 0): bandwidth bound and, when decomposed, its delay budget."""
    share = float(orch.managers["tn"].in_force[0, 0, k])
    slo = [
        SloMetricBound(
            metric_type=SloMetricType.ONE_WAY_BANDWIDTH, metric_unit="Mbps", bound=share * _bottleneck_mbps(orch, k)
        )
    ]
    budgets = next((r.budgets for r in orch.records.values() if r.index == k), {})
    if "latency_ms" in budgets and budgets["latency_ms"]["tn"] > 0.0:
        slo.append(
            SloMetricBound(
                metric_type=SloMetricType.ONE_WAY_DELAY_MAXIMUM, metric_unit="ms", bound=budgets["latency_ms"]["tn"]
            )
        )
    site = orch.scenario.spec.slices[k].edge_site
    return TransportSliceAllocation(
        snssai=snssai_of(orch, k),
        ep_transport_ref_list=["SubNetwork=TN,EP_Transport=ran-n3", f"SubNetwork=TN,EP_Transport={site}-n6"],
        slo_policy=slo,
    )


def put_transport_allocation(orch: Orchestrator, alloc: TransportSliceAllocation) -> TransportSliceAllocation:
    """Set the slice's bandwidth share from the allocation's bandwidth bound (all envs)."""
    k = index_of(orch, alloc.snssai)
    if alloc.bandwidth_mbps is None:
        raise InvalidAllocationError("sloPolicy: a one-way-bandwidth bound is required")
    _set_share(orch, "tn", TN_BW, k, alloc.bandwidth_mbps / _bottleneck_mbps(orch, k), "sloPolicy.bound")
    return transport_allocation(orch, k)


# -------------------------------------------------------------------------------------- compute


def _cores(orch: Orchestrator, k: int, domain: ComputeDomain) -> float:
    p = orch.scenario.params
    return float(p.core.cores if domain == ComputeDomain.CN else p.edge.cores[p.edge.site_of_slice[k]])


def compute_allocation(orch: Orchestrator, k: int, domain: ComputeDomain) -> ComputeAllocation:
    """The vCPUs the slice has in the core (UPF) or at its edge site (env 0)."""
    row_mgr = "cn" if domain == ComputeDomain.CN else "edge"
    share = float(orch.managers[row_mgr].in_force[0, 0, k])
    return ComputeAllocation(snssai=snssai_of(orch, k), v_cpu=share * _cores(orch, k, domain), domain=domain)


def put_compute_allocation(orch: Orchestrator, alloc: ComputeAllocation) -> ComputeAllocation:
    """Set the slice's CPU share from a vCPU count (all envs)."""
    k = index_of(orch, alloc.snssai)
    domain = alloc.domain or ComputeDomain.EDGE
    mgr, row = ("cn", CN_CPU) if domain == ComputeDomain.CN else ("edge", EDGE_CPU)
    _set_share(orch, mgr, row, k, alloc.v_cpu / _cores(orch, k, domain), "vCpu")
    return compute_allocation(orch, k, domain)


def _set_share(orch: Orchestrator, manager: str, row: int, k: int, share: float, field: str) -> None:
    if not 0.0 <= share <= 1.0:
        raise InvalidAllocationError(f"{field}: asks for {share:.4g} of the capacity; must be within [0, 1]")
    try:
        orch.managers[manager].set_share(row, k, share)
    except InvalidAllocationError as err:
        raise InvalidAllocationError(f"{field}: {err}") from None


# ------------------------------------------------------------------------------------ assurance


def kpi_record(orch: Orchestrator, k: int, env: int = 0) -> SliceKpiRecord:
    """The slice's KPI record for the last slot (TS 28.552/28.554 names and units).

    Raises:
        NotFoundError: no slot has run since the last reset, or the slice was provisioned after the last slot
            (the slot's KPIs are not its own: another slice's, or nobody's).
    """
    kpis = orch.observation().kpis
    if kpis is None:
        raise NotFoundError("kpis: no slot has run since the last reset")
    p = orch.scenario.params
    slice_id = next((sid for sid, r in orch.records.items() if r.index == k), p.slice_names[k])
    judged = orch.assurance.judged
    if judged is not None and not judged[k]:
        raise NotFoundError(
            f"kpis: NetworkSlice={slice_id} was provisioned after the last slot; its first KPI record comes with "
            "the next slot"
        )
    prb_ul, prb_dl = p.ran.prb.sum(axis=1)
    values = {
        "DRB.UEThpDl": kpis.thp_dl_kbps[env, k],
        "DRB.UEThpUl": kpis.thp_ul_kbps[env, k],
        "DTSNSI": kpis.thp_dl_kbps[env, k],
        "UTSNSI": kpis.thp_ul_kbps[env, k],
        "DelayE2EDlNs": kpis.latency_ms[env, k] * 10.0,  # 0.1 ms
        "DRB.MeanActiveUeDl": kpis.active_ues[env, k],
        "RRU.PrbUsedUl": kpis.prb_used_ul[env, k] / 100.0 * prb_ul,
        "RRU.PrbUsedDl": kpis.prb_used_dl[env, k] / 100.0 * prb_dl,
        "GTP.DelayDlInPsaUpfMean": kpis.cn_ms[env, k] * 1e3,  # us
        "VR.VCpuUsageMean": kpis.cpu_load_edge[env, k],
        "DRB.PacketLossRateUl": (1.0 - kpis.reliability[env, k]) * 1e6,  # 1E-6
    }
    end = EPOCH + timedelta(seconds=float(orch.slot * p.slot_s))
    return SliceKpiRecord(
        snssai=snssai_of(orch, k),
        plmn_id=plmns_of(orch, k)[0],
        meas_obj_dn=f"SubNetwork=netslice,NetworkSlice={slice_id}",
        granularity_period=max(1, round(p.slot_s)),
        end_time=end,
        measurements={name: max(float(v), 0.0) for name, v in values.items()},
    )
