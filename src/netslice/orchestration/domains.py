"""Domain managers (NSSMF-like): one per technical domain, one interface.

Each manager owns some rows of the allocation, validates and enforces them, and reports its
measurements per slice with TS 28.552 names. Managers work on the batched arrays of every env (the
fast path used by training); the NRM views in :mod:`netslice.orchestration.views` read and write
the same arrays as 3GPP objects (the slow path used by the REST API): one logic, two views.

Faults: a manager whose ``stage`` raises, or takes longer than its ``timeout_s``, commits nothing
and its previous allocation stays in force (:mod:`netslice.orchestration.enforcement` hands every
manager its rows each slot and records a ``DomainFault``).

Measurement names (each documented once, here; values are ``(n_envs, n_slices)`` arrays):

=============================  ======  ===========================================================
name                           unit    meaning
=============================  ======  ===========================================================
``RRU.PrbUsedUl``              PRB     UL PRBs used by the slice, summed over cells (TS 28.552 5.1.1.2.7)
``RRU.PrbUsedDl``              PRB     DL PRBs used by the slice, summed over cells (TS 28.552 5.1.1.2.5)
``DRB.MeanActiveUeDl``         UEs     mean active UEs of the slice (TS 28.552 5.1.1.23)
``DRB.UEThpDl``                kbit/s  DL throughput of the slice (TS 28.552 5.1.1.3, summed over UEs)
``DRB.UEThpUl``                kbit/s  UL throughput of the slice (TS 28.552 5.1.1.3)
``CARR.WBCQIMean``             CQI     traffic-weighted mean DL wideband CQI (mean of CARR.WBCQIDist)
``RAN.DelayMean``              ms      RAN part of the end-to-end latency (vendor)
``TN.DelayMean``               ms      transport part of the end-to-end latency (vendor)
``GTP.DelayDlInPsaUpfMean``    µs      UPF part of the end-to-end latency (TS 28.552 5.4.5)
``VR.VCpuUsageMean``           %       CPU use of the slice's UPF or edge app, of its allocation (TS 28.552)
``EAS.ResponseTimeMean``       ms      edge part of the end-to-end latency (vendor)
=============================  ======  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from netslice.errors import InvalidAllocationError
from netslice.network.allocation import (
    CN_CPU,
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    PRB_DL,
    PRB_UL,
    TN_BW,
    check_capacity,
    check_values,
    read_only,
)
from netslice.network.kernel import Kpis, SimParams
from netslice.orchestration.capacity import make_room
from netslice.orchestration.rrm import RrmState, measurements

FloatArray = NDArray[np.float64]

#: Per-domain measurements: name -> (KPI field, scale); PRB scales are set per scenario by :func:`make_managers`.
MEASUREMENTS: dict[str, dict[str, tuple[str, float]]] = {
    "ran": {
        "RRU.PrbUsedUl": ("prb_used_ul", 0.01),
        "RRU.PrbUsedDl": ("prb_used_dl", 0.01),
        "DRB.MeanActiveUeDl": ("active_ues", 1.0),
        "DRB.UEThpDl": ("thp_dl_kbps", 1.0),
        "DRB.UEThpUl": ("thp_ul_kbps", 1.0),
        "CARR.WBCQIMean": ("cqi_dl", 1.0),
        "RAN.DelayMean": ("ran_ms", 1.0),
    },
    "tn": {"TN.DelayMean": ("tn_ms", 1.0)},
    "cn": {"GTP.DelayDlInPsaUpfMean": ("cn_ms", 1e3), "VR.VCpuUsageMean": ("cpu_load_cn", 1.0)},
    "edge": {"EAS.ResponseTimeMean": ("edge_ms", 1.0), "VR.VCpuUsageMean": ("cpu_load_edge", 1.0)},
}

#: Allocation rows each domain manager owns.
ROWS: dict[str, tuple[int, ...]] = {
    "ran": (PRB_UL, PRB_DL, MCS_UL, MCS_DL),
    "tn": (TN_BW,),
    "cn": (CN_CPU,),
    "edge": (EDGE_CPU,),
}
#: Allocation row -> scenario enforcement-delay domain.
DOMAIN_OF_ROW = {r: d for d, rows in ROWS.items() for r in rows}


@dataclass(frozen=True)
class Staged:
    """A manager's next state, validated but not yet in force (see :meth:`DomainManager.stage`).

    Attributes:
        in_force: ``(n_envs, len(rows), n_slices)`` the allocation to put in force.
        rrm: the RAN's RRMPolicyRatio quotas to put in force (``None`` for other domains).
    """

    in_force: FloatArray
    rrm: RrmState | None = None


@dataclass(eq=False)
class DomainManager:
    """One domain's manager: validation, enforcement and measurements over the batched arrays.

    The manager is the one owner of its domain's allocation in force and, in the RAN, of the
    RRMPolicyRatio quotas and the ids of the policies set through the NRM: both are read-only from
    outside (:attr:`in_force`, :attr:`rrm`, :attr:`rrm_ids`) and change only through its methods. A
    change is staged first (:meth:`stage`, which validates and may fail) and then committed
    (:meth:`commit`), so that a failed or late enforcement leaves nothing half-done.

    Attributes:
        name: domain name.
        rows: allocation rows owned, in :data:`netslice.network.allocation.RESOURCES` order.
        site_of_slice: ``(n_slices,)`` edge site per slice (edge shares sum per site).
        enforce_delay_s: reconfiguration time of the domain (s), from the scenario.
        timeout_s: deadline of one ``apply`` call (s); slower calls are discarded as faults.
        fault_hook: optional callable run inside :meth:`stage` before enforcement (fault injection).
        scales: extra factor per measurement (the RAN's PRB totals, so that PRB use is in PRBs).
    """

    name: str
    rows: tuple[int, ...]
    site_of_slice: NDArray[np.int64]
    enforce_delay_s: float
    timeout_s: float
    _in_force: FloatArray = field(repr=False)
    _rrm: RrmState | None = field(default=None, repr=False)
    _rrm_ids: dict[str, tuple[tuple[int, ...], int]] = field(default_factory=dict, repr=False)
    #: The last slot's RAN measurements whose need estimate is not yet in ``_rrm`` (see :meth:`measured`).
    _measured: FloatArray | None = field(default=None, repr=False)
    fault_hook: Callable[[FloatArray], None] | None = field(default=None, repr=False)
    scales: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._in_force = read_only(np.array(self._in_force, dtype=np.float64, copy=True))

    # ------------------------------------------------------------------------------------ reading

    @property
    def in_force(self) -> FloatArray:
        """``(n_envs, len(rows), n_slices)`` the allocation in force (read-only)."""
        return self._in_force

    @property
    def rrm(self) -> RrmState | None:
        """The RRMPolicyRatio quotas of the PRB rows (RAN only; immutable; see :mod:`netslice.orchestration.rrm`)."""
        return self._settled()

    @property
    def rrm_ids(self) -> Mapping[str, tuple[tuple[int, ...], int]]:
        """Ids of the RRMPolicyRatio policies set through the NRM: id -> (directions, slice), read-only."""
        return MappingProxyType(self._rrm_ids)

    @property
    def measurement_names(self) -> tuple[str, ...]:
        """Names of the measurements :meth:`observe` returns."""
        return tuple(MEASUREMENTS[self.name])

    def observe(self, kpis: Kpis) -> dict[str, FloatArray]:
        """This domain's measurements per slice (see the module table)."""
        return {
            name: getattr(kpis, attr) * (scale * self.scales.get(name, 1.0))
            for name, (attr, scale) in MEASUREMENTS[self.name].items()
        }

    def validate(self, part: FloatArray) -> None:
        """Check this domain's rows: shape, finite values in [0, 1], node shares summing to at most 1.

        Raises:
            InvalidAllocationError: naming the resource and the rule.
        """
        expected = self._in_force.shape
        if part.shape != expected:
            raise InvalidAllocationError(f"{self.name}: allocation shape must be {expected}, got {part.shape}")
        check_values(part, self.name, self.rows)
        check_capacity(part, self.site_of_slice, self.name, self.rows)

    # ------------------------------------------------------------------------------ enforcement

    def stage(self, part: FloatArray, *, validated: bool = False, frozen: bool = False) -> Staged:
        """Validate ``part`` and run the fault hook; return what :meth:`commit` would put in force.

        Args:
            part: ``(n_envs, len(rows), n_slices)`` this domain's rows.
            validated: the caller has checked ``part``'s values and node sums with the same rules
                (:func:`enforce_all` checks all domains' rows at once); only the shape is checked here.
            frozen: ``part`` is a read-only float64 array whose memory nothing will write (:func:`enforce_all`
                hands every manager a view of its own read-only copy): it is put in force as it is, not copied.

        Raises:
            InvalidAllocationError: ``part`` breaks a rule (nothing changes).
        """
        if not validated:
            self.validate(part)
        elif part.shape != self._in_force.shape:
            raise InvalidAllocationError(
                f"{self.name}: allocation shape must be {self._in_force.shape}, got {part.shape}"
            )
        if self.fault_hook is not None:
            self.fault_hook(part)
        in_force = part if frozen else read_only(part.astype(np.float64))  # astype copies by default
        # The quotas d = m = M = the PRB shares: views of the read-only allocation staged here.
        return Staged(in_force, None if self._rrm is None else self._rrm.with_shares(in_force[:, :2], frozen=True))

    def commit(self, staged: Staged) -> FloatArray:
        """Put a staged state in force; return the allocation in force."""
        self._in_force = staged.in_force
        if self._rrm is not None and staged.rrm is not None:
            self._rrm = staged.rrm
        return self._in_force

    def apply(self, part: FloatArray, *, validated: bool = False) -> FloatArray:
        """Validate and enforce ``part`` (:meth:`stage` then :meth:`commit`); unchanged on any error."""
        return self.commit(self.stage(part, validated=validated))

    def reset_envs(self, initial: FloatArray, mask: NDArray[np.bool_] | None) -> None:
        """Put ``initial`` ``(n_envs, len(rows), n_slices)`` in force in the envs of ``mask`` (all when None).

        A full reset (``mask`` None) also forgets the NRM policy ids: the policies are back to d = m = M = share.
        """
        envs = _ALL if mask is None else np.asarray(mask, dtype=bool)
        in_force = self._in_force.copy()
        in_force[envs] = initial[envs]
        self._in_force = read_only(in_force)
        if mask is None:
            self._measured = None  # every env's need is replaced: the last measurements no longer count
        rrm = self._settled()
        if rrm is not None:
            self._rrm = rrm.reset_envs(initial[:, :2], envs)
        if mask is None or bool(np.all(mask)):
            self._rrm_ids.clear()

    def current(self) -> FloatArray:
        """The allocation to run next slot without a new action (RAN: RRM policies applied to the last need)."""
        rrm = self._settled()
        if rrm is not None:
            in_force = self._in_force.copy()
            in_force[:, :2] = rrm.shares()
            self._in_force = read_only(in_force)
        return self._in_force

    def measured(self, kpis: Kpis) -> None:
        """Take a slot's measurements into account (RAN: the need estimate behind the RRM quotas).

        The RAN keeps a copy of what the estimate reads and computes it when the quotas are next read or
        changed (:meth:`_settled`): a slot run under an agent's action replaces the policies and keeps the
        need, so a training loop never reads it. The need depends on the last slot's measurements alone.
        """
        if self._rrm is not None:
            self._measured = measurements(kpis)

    def _settled(self) -> RrmState | None:
        """The RRM state with the need estimate of the last measurements (computed here once, then kept)."""
        if self._measured is not None and self._rrm is not None:
            self._rrm = self._rrm.with_need_of(self._measured)
            self._measured = None
        return self._rrm

    # ------------------------------------------------------------------------ NRM writes, lifecycle

    def set_share(self, row: int, k: int, share: float) -> FloatArray:
        """Set slice ``k``'s share of ``row`` in every env (an NRM write); unchanged on any error.

        Raises:
            InvalidAllocationError: the node's shares would exceed 1 (or the value is outside [0, 1]).
        """
        part = self.current().copy()
        part[:, self.rows.index(row), k] = share
        return self.apply(part)

    def stage_reservation(self, k: int, reservation: FloatArray, floor: FloatArray) -> Staged:
        """Slice ``k`` raised to at least its admitted ``reservation`` (see :meth:`reserve`), not yet in force.

        Raises:
            InvalidAllocationError: the result breaks the domain's rule (a bug: reservations always fit).
        """
        part = self._in_force.copy()
        n_slices = part.shape[-1]
        for i, row in enumerate(self.rows):
            if row in (MCS_UL, MCS_DL):
                part[:, i, k] = reservation[row]
            elif row not in (PRB_UL, PRB_DL):
                groups = self.site_of_slice if row == EDGE_CPU else np.zeros(n_slices, dtype=np.int64)
                value = np.maximum(part[:, i, k], reservation[row])
                part[:, i, :] = make_room(part[:, i, :], k, value, floor[row], groups)
        self.validate(part)
        rrm = None
        settled = self._settled()
        if settled is not None:
            rrm = settled.reserved(k, reservation[[PRB_UL, PRB_DL]], floor[[PRB_UL, PRB_DL]])
            part[:, [self.rows.index(PRB_UL), self.rows.index(PRB_DL)]] = rrm.shares()
        return Staged(read_only(part), rrm)

    def release(self, k: int) -> None:
        """Take every resource from slice ``k``: zero shares, RRMPolicyRatio 0/0/0 (need 0), its policy ids dropped."""
        in_force = self._in_force.copy()
        in_force[:, :, k] = 0.0
        self._in_force = read_only(in_force)
        rrm = self._settled()
        if rrm is not None:
            self._rrm = rrm.released(k)
        for pid in [pid for pid, (_, j) in self._rrm_ids.items() if j == k]:
            del self._rrm_ids[pid]

    def put_rrm_policy(
        self, policy_id: str, directions: tuple[int, ...], k: int, ratios: tuple[float, float, float]
    ) -> None:
        """Set slice ``k``'s RRMPolicyRatio (dedicated, min, max fractions) in ``directions`` under ``policy_id``.

        The id replaces any other NRM id covering only those directions of the slice.

        Raises:
            InvalidAllocationError: not a RAN manager, ratios out of order or cell sums above 100 %
                (nothing changes).
        """
        rrm = self._ran_rrm()
        try:
            for d in directions:
                rrm = rrm.with_policy(d, k, *ratios)
        except ValueError as err:
            raise InvalidAllocationError(str(err)) from None
        self._rrm = rrm
        for pid, (dirs, j) in list(self._rrm_ids.items()):
            if j == k and set(dirs) <= set(directions):
                del self._rrm_ids[pid]
        self._rrm_ids[policy_id] = (directions, k)

    def delete_rrm_policy(self, policy_id: str, directions: tuple[int, ...], k: int) -> None:
        """Remove a policy: slice ``k`` falls back to best effort (dedicated 0, min 0, max 1) in ``directions``."""
        rrm = self._ran_rrm()
        for d in directions:
            rrm = rrm.with_policy(d, k, 0.0, 0.0, 1.0)
        self._rrm = rrm
        self._rrm_ids.pop(policy_id, None)

    def _ran_rrm(self) -> RrmState:
        rrm = self._settled()
        if rrm is None:
            raise InvalidAllocationError(f"{self.name}: RRMPolicyRatio applies to the RAN domain only")
        return rrm


#: Every env: the index of a full reset (a view, where an all-true mask would gather and scatter copies).
_ALL = slice(None)


def make_managers(
    params: SimParams, n_envs: int, enforce_delay_s: Mapping[str, float], timeout_s: float = 0.5
) -> dict[str, DomainManager]:
    """One manager per domain, holding the scenario's initial allocation."""
    initial = np.broadcast_to(params.initial_allocation, (n_envs, *params.initial_allocation.shape))
    prb_ul, prb_dl = params.ran.prb.sum(axis=1)
    prb_scales = {"RRU.PrbUsedUl": float(prb_ul), "RRU.PrbUsedDl": float(prb_dl)}
    return {
        name: DomainManager(
            name=name,
            rows=rows,
            site_of_slice=params.edge.site_of_slice,
            enforce_delay_s=float(enforce_delay_s.get(name, 0.0)),
            timeout_s=timeout_s,
            _in_force=np.array(initial[:, list(rows), :], dtype=np.float64, copy=True),
            _rrm=RrmState.from_shares(initial[:, [PRB_UL, PRB_DL], :]) if name == "ran" else None,
            scales=prb_scales if name == "ran" else {},
        )
        for name, rows in ROWS.items()
    }
