"""The end-to-end orchestrator (NSMF-like): the one door between agents and the network.

Every slot an agent's action goes through :meth:`Orchestrator.step`; steps 1-3 are
:meth:`Orchestrator.prepare`, which the REST API's dry run calls too (one pipeline, two users):

1. :func:`~netslice.orchestration.capacity.check_action` rejects malformed actions (shape, NaN/inf,
   outside [0, 1]); nothing changes and the error names the resource and the rule;
2. slices that are not provisioned get nothing;
3. the capacity enforcer (default: proportional scaling) brings over-subscribed nodes back to 1;
4. each domain manager validates and enforces its rows (a failing manager keeps its previous
   allocation and the fault is reported);
5. the network runs one slot under the allocation in force;
6. service assurance turns the KPIs into the cost vector c(s, a) and updates statistics.

Slice lifecycle (create with a ServiceProfile after admission control, modify, terminate) and the
SLA decomposition hook live here too. Model-based policies get a read-only
:class:`~netslice.orchestration.planning.PlanningModel` from :meth:`Orchestrator.planning_model`.

Who owns what (each piece of state has one owner; everything else asks it):

=====================================  ====================================================================
state                                  owner (changed only through its methods)
=====================================  ====================================================================
network state, incl. the allocation    :class:`~netslice.network.simulator.Simulator` (``reset``, ``step``)
that ran in the last slot
allocation in force of each domain     its :class:`~netslice.orchestration.domains.DomainManager`
RRMPolicyRatio quotas, their NRM ids   the RAN's :class:`~netslice.orchestration.domains.DomainManager`
provisioned slices, SLA targets        :class:`~netslice.orchestration.assurance.ServiceAssurance`
                                       (``admit``, ``release``), called by the lifecycle here
slice records, slot counter, faults    :class:`Orchestrator`
live tenants, slice request counts     :class:`~netslice.orchestration.tenancy.Tenancy` (scenarios whose slices
                                       come and go; it creates and terminates slices through the lifecycle)
slices present in each network         :class:`~netslice.network.simulator.Simulator` (``set_presence``),
                                       kept equal to the provisioned slices by the lifecycle here
=====================================  ====================================================================

The same interface is served over HTTP by
:mod:`netslice.orchestration.api` and mirrored by its client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from netslice.errors import AdmissionError, ConfigError, ConflictError, NotFoundError
from netslice.network import scenarios
from netslice.network.allocation import DOMAINS, RESOURCES
from netslice.network.kernel import Kpis, hour_of
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets
from netslice.network.simulator import Network, Simulator
from netslice.orchestration.agent_api import Observation, Prepared, Spaces, StepResult
from netslice.orchestration.assurance import ServiceAssurance
from netslice.orchestration.capacity import ENFORCERS, CapacityEnforcer, check_action, enforce_capacity, within_rules
from netslice.orchestration.decomposition import Decomposition, proportional
from netslice.orchestration.domains import DomainManager, make_managers
from netslice.orchestration.enforcement import DomainFault, enforce_all, row_index
from netslice.orchestration.lifecycle import (
    Feasibility,
    SliceRecord,
    check_feasibility,
    profile_terms,
    put_reservation_in_force,
    remaining_capacity,
    scenario_profile,
    slice_index,
    targets_with,
)
from netslice.orchestration.nrm import ServiceProfile
from netslice.orchestration.planning import PlanningModel
from netslice.orchestration.tenancy import Tenancy, tenancy_seed

FloatArray = NDArray[np.float64]

#: Slot indices whose hour of day one network's orchestrator remembers (a day of 15-min slots is 96).
_HOURS_KEPT = 4096


@dataclass
class Orchestrator:
    """End-to-end orchestrator over one scenario and ``n_envs`` simulated networks.

    Args:
        scenario: a registered scenario name or a loaded :class:`Scenario`.
        n_envs: independent networks stepped together.
        seed: random seed (``None``: from the OS).
        backend: simulator backend (``auto``, ``numpy``, ``fused``), or ``emulated``: one network whose
            transport and edge run on a real Linux data plane (:mod:`netslice.network.emulation.hybrid`; needs
            root and the ``emulation`` extra; ``n_envs`` must be 1).
        enforcer: capacity enforcer name (``proportional``, ``reject``) or callable.
        decomposition: SLA decomposition hook.
        timeout_s: deadline of one domain manager ``apply`` call.
        provision_all: provision every scenario slice with its scenario SLA at start; in a scenario whose
            slices come and go (an ``arrivals`` section) start its request process instead
            (:mod:`~netslice.orchestration.tenancy`: slices are created and terminated between slots).
        events: record SLA threshold-crossing events in the assurance.
    """

    scenario: Scenario
    n_envs: int
    sim: Network
    managers: dict[str, DomainManager]
    assurance: ServiceAssurance
    enforcer: CapacityEnforcer
    decomposition: Decomposition
    records: dict[str, SliceRecord] = field(default_factory=dict)
    fault_counts: dict[str, int] = field(default_factory=dict)
    slot: int = 0
    tenancy: Tenancy | None = None
    _last: Observation | None = None
    #: While the start-up slices are provisioned the network keeps every slice present (one update at the end).
    _presence_frozen: bool = field(default=False, repr=False, compare=False)
    #: One network's hour of day per slot index (see :meth:`_hour`; made on first use, also after unpickling).
    _hours: dict[int, FloatArray] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        scenario: str | Scenario = "testbed-v0",
        n_envs: int = 1,
        seed: int | None = None,
        backend: str = "auto",
        enforcer: str | CapacityEnforcer = "proportional",
        decomposition: Decomposition = proportional,
        timeout_s: float = 0.5,
        provision_all: bool = True,
        events: bool = True,
    ) -> Orchestrator:
        """Build an orchestrator (see the class docstring for the arguments)."""
        sc = scenarios.load(scenario) if isinstance(scenario, str) else scenario
        if isinstance(enforcer, str):
            if enforcer not in ENFORCERS:
                raise ConfigError(f"enforcer: must be one of {sorted(ENFORCERS)}, got {enforcer!r}")
            enforcer = ENFORCERS[enforcer]
        delays = {d: getattr(sc.spec.enforcement, f"{d}_ms") / 1e3 for d in DOMAINS}
        orch = cls(
            scenario=sc,
            n_envs=n_envs,
            sim=_network(sc, n_envs, seed, backend),
            managers=make_managers(sc.params, n_envs, delays, timeout_s),
            assurance=ServiceAssurance(
                SlaTargets.from_spec(sc.spec),
                sc.params.slice_names,
                np.zeros(sc.params.n_slices, dtype=bool),
                record_events=events,
            ),
            enforcer=enforcer,
            decomposition=decomposition,
        )
        if provision_all and sc.spec.arrivals is not None:
            orch.tenancy = Tenancy.of(sc, tenancy_seed(seed))
            orch._sync_presence()  # no slice until the first requests
            orch.tenancy.start(orch)
        elif provision_all:
            orch._presence_frozen = True
            for k, s in enumerate(sc.spec.slices):
                orch.create_slice(s.name, scenario_profile(sc, k), put_in_force=False)
            orch._presence_frozen = False
        orch._sync_presence()
        orch._last = orch._observation(None, np.zeros((n_envs, sc.params.n_slices)), ())
        return orch

    # ------------------------------------------------------------------------------------ agent API

    def spaces(self) -> Spaces:
        """Shapes, bounds and names (see :class:`Spaces`)."""
        p = self.scenario.params
        return Spaces(
            scenario=self.scenario.name,
            n_envs=self.n_envs,
            action_shape=(self.n_envs, len(RESOURCES), p.n_slices),
            resources=RESOURCES,
            slices=p.slice_names,
            domains=DOMAINS,
            kpis=tuple(f for f in Kpis.__dataclass_fields__ if f not in ("hour", "usage", "slice_usage")),
            slots_per_episode=self.scenario.spec.slots_per_episode,
            slot_s=p.slot_s,
        )

    @property
    def active(self) -> NDArray[np.bool_]:
        """``(n_slices,)`` provisioned slices."""
        return self.assurance.active

    def reset(self, seed: int | None = None, mask: NDArray[np.bool_] | None = None) -> Observation:
        """Start new episodes: every env (re-seeding when ``seed`` is given) or those in ``mask``."""
        if seed is not None and self.tenancy is not None and (mask is None or bool(np.all(mask))):
            self.slot = 0  # the new tenants' lifetimes count from the episode's start
            self._restart_tenancy(seed)
        initial = np.array(self.scenario.params.initial_allocation, dtype=np.float64, copy=True)
        if not self.assurance.all_active:
            initial[:, ~self.active] = 0.0  # the scenario's initial allocation, for the provisioned slices
        self.sim.reset(seed=seed, mask=mask, allocation=initial)
        initial_envs = np.broadcast_to(initial, (self.n_envs, *initial.shape))
        for mgr in self.managers.values():
            mgr.reset_envs(initial_envs[:, row_index(mgr.rows), :], mask)
        if mask is None or bool(np.all(mask)):
            self.slot = 0  # the initial allocation is back: policies are the default d = m = M = share
            self.assurance.reset_episode()
            self._last = self._observation(None, np.zeros((self.n_envs, self.scenario.params.n_slices)), ())
        else:
            # Envs still running keep their last KPIs and cost; the reset envs' cost rows start at 0.
            self.assurance.reset_episode(np.asarray(mask, dtype=bool))
            last = self.observation()
            cost = last.cost.copy()
            cost[np.asarray(mask, dtype=bool)] = 0.0
            self._last = self._observation(last.kpis, cost, ())
        return self._last

    def observation(self) -> Observation:
        """The latest observation (made by the last slot or reset; :attr:`active` has slices provisioned since)."""
        assert self._last is not None
        return self._last

    def in_force(self) -> FloatArray:
        """``(n_envs, 7, K)`` the allocation the domain managers hold in force (what a slot without an action runs).

        Slices not provisioned read 0. A new array: changing it changes nothing.
        """
        out = np.empty((self.n_envs, len(RESOURCES), self.scenario.params.n_slices))
        for mgr in self.managers.values():
            out[:, list(mgr.rows), :] = mgr.current()
        out[:, :, ~self.active] = 0.0
        return out

    def sla_targets(self) -> SlaTargets:
        """The SLA targets in force, per slice (the assurance's; a slice admitted with its own profile has its own)."""
        return self.assurance.targets

    def step(self, action: object | None = None) -> StepResult:
        """Run one slot under ``action``, or under the allocation in force when ``action`` is None.

        Without an action the domain managers keep their allocations (the RAN re-applies its
        RRMPolicyRatio quotas to the latest need), as when an operator provisions through the NRM.
        """
        faults: list[DomainFault] = []
        if action is None:
            in_force = self.in_force()
            modified = np.zeros(self.n_envs, dtype=bool)
        else:
            prepared = self.prepare(action)
            modified = prepared.modified
            in_force, faults = enforce_all(self.managers, prepared.enforced, self.slot, valid_under=prepared.sites)
            for fault in faults:
                self.count_fault(fault.domain)
        kpis = self.sim.step(in_force, validate=False)
        for mgr in self.managers.values():
            mgr.measured(kpis)
        self.slot += 1
        cost = self.assurance.evaluate(kpis, self.slot)
        if self.tenancy is not None:  # slices leave and arrive between this slot and the next
            self.tenancy.forget(self.records)
            self.tenancy.advance(self)
        slot_faults = tuple(faults)
        obs = self._observation(kpis, cost, slot_faults)
        self._last = obs
        return StepResult(obs, kpis, cost, kpis.usage, modified, slot_faults)

    def prepare(self, action: object) -> Prepared:
        """Check an action and apply capacity enforcement, as :meth:`step` does; changes nothing.

        Raises:
            InvalidAllocationError: the action is malformed (shape, NaN/inf, outside [0, 1]) or, with
                the ``reject`` enforcer, over capacity.
        """
        checked = check_action(action, self.n_envs, self.scenario.params.n_slices)
        if not checked.flags.owndata:  # a broadcast (n_resources, n_slices) action: a view, not a copy
            checked = np.array(checked, copy=True)
        if not self.assurance.all_active:
            checked[:, :, ~self.active] = 0.0
        sites = self.scenario.params.edge.site_of_slice
        enforced, modified = enforce_capacity(self.enforcer, checked, sites)
        return Prepared(checked, enforced, modified, sites if within_rules(self.enforcer) else None)

    def check_domains(self, allocation: FloatArray) -> None:
        """Validate ``allocation``'s rows with each domain manager's rules, as enforcement would; changes nothing.

        Raises:
            InvalidAllocationError: a domain's rows break its rule (naming the domain and the rule).
        """
        for mgr in self.managers.values():
            mgr.validate(np.asarray(allocation[:, list(mgr.rows), :]))

    def planning_model(self) -> PlanningModel:
        """A read-only snapshot for model-based policies (see :mod:`netslice.orchestration.planning`)."""
        return PlanningModel(self.sim.model, self.sim.state, self.assurance.targets, self.active.copy())

    def count_fault(self, domain: str) -> None:
        """Count one fault of ``domain``'s manager (an enforcement on a slot, or a failed NRM write)."""
        self.fault_counts[domain] = self.fault_counts.get(domain, 0) + 1

    def measurements(self, kpis: Kpis | None = None) -> dict[str, dict[str, FloatArray]]:
        """Per-domain measurements of a slot (default: the last one), ``{domain: {name: (n_envs, n_slices)}}``."""
        kpis = kpis if kpis is not None else self.observation().kpis
        if kpis is None:
            return {}
        return {name: mgr.observe(kpis) for name, mgr in self.managers.items()}

    def metrics(self) -> dict[str, float]:
        """Namespaced metrics.

        The assurance's ``sla/*``, plus ``orchestrator/slots`` (slots run), ``orchestrator/active_slices``
        and ``orchestrator/faults/<domain>`` (domain faults since creation: failed enforcements on a
        slot and failed NRM writes).
        """
        out = self.assurance.metrics()
        out["orchestrator/slots"] = float(self.slot)
        out["orchestrator/active_slices"] = float(self.active.sum())
        for domain in DOMAINS:
            out[f"orchestrator/faults/{domain}"] = float(self.fault_counts.get(domain, 0))
        if self.tenancy is not None:
            out |= self.tenancy.metrics()
        return out

    def _observation(self, kpis: Kpis | None, cost: FloatArray, faults: tuple[DomainFault, ...]) -> Observation:
        state = self.sim.state
        return Observation(
            slot=self.slot,
            hour=self._hour(state.t),
            episode_slot=np.array(state.t, dtype=np.int64),  # a copy
            active=self.assurance.active.copy(),
            allocation=state.alloc.copy(),
            kpis=kpis,
            cost=cost,
            faults=faults,
        )

    def _hour(self, t: NDArray[np.int64]) -> FloatArray:
        """``hour_of(t)``, a new array; one network's (a few distinct slots a day) is remembered per slot index."""
        if t.shape != (1,):
            return hour_of(self.scenario.params, t)
        if self._hours is None or len(self._hours) >= _HOURS_KEPT:
            self._hours = {}
        key = int(t[0])
        hour = self._hours.get(key)
        if hour is None:
            hour = self._hours[key] = hour_of(self.scenario.params, t)
        return hour.copy()

    # ------------------------------------------------------------------------------------ lifecycle

    def feasibility(self, profile: ServiceProfile, slice_id: str | None = None) -> Feasibility:
        """Admission check of ``profile`` against the capacity other slices have not reserved."""
        k = self._index_of(profile)
        terms = profile_terms(profile)
        n_ues = float(profile.max_number_of_ues or self.scenario.params.traffic.scale[k])
        reserved = {r.index: r.reservation for sid, r in self.records.items() if sid != slice_id}
        available = remaining_capacity(self.scenario, reserved, k)
        return check_feasibility(self.sim.model, self._scenario_targets(), k, terms, n_ues, available)

    def create_slice(self, slice_id: str, profile: ServiceProfile, *, put_in_force: bool = True) -> SliceRecord:
        """Provision a slice after admission control and put its reservation in force (from the next slot).

        Args:
            slice_id: the NetworkSlice id.
            profile: its ServiceProfile.
            put_in_force: give the slice its reserved allocation in every domain (see
                :func:`~netslice.orchestration.lifecycle.put_reservation_in_force`); start-up slices pass
                False and run the scenario's initial allocation.

        Raises:
            ConflictError: the id exists or the S-NSSAI is already provisioned.
            ConfigError: no scenario slice carries the S-NSSAI.
            AdmissionError: the profile is infeasible (the message gives the reason).
        """
        if slice_id in self.records:
            raise ConflictError(f"NetworkSlice={slice_id}: already exists")
        k = self._index_of(profile)
        if self.active[k]:
            owner = next(sid for sid, r in self.records.items() if r.index == k)
            raise ConflictError(f"plmnInfoList.snssai: already provisioned by NetworkSlice={owner}")
        return self._admit(slice_id, profile, k, put_in_force=put_in_force)

    def modify_slice(self, slice_id: str, profile: ServiceProfile) -> SliceRecord:
        """Replace a slice's ServiceProfile (same S-NSSAI) after admission; puts its reservation in force."""
        record = self._record(slice_id)
        if self._index_of(profile) != record.index:
            raise ConfigError("plmnInfoList.snssai: a modification cannot change the slice's S-NSSAI")
        return self._admit(slice_id, profile, record.index)

    def terminate_slice(self, slice_id: str) -> None:
        """Release a slice: it gets no resources from the next slot and costs nothing."""
        record = self._record(slice_id)
        del self.records[slice_id]
        k = record.index
        self.assurance.release(k)
        # Its shares and RRM quotas no longer count towards any node's sums; its explicit policies go with it.
        for mgr in self.managers.values():
            mgr.release(k)
        self._sync_presence()

    def _admit(self, slice_id: str, profile: ServiceProfile, k: int, *, put_in_force: bool = True) -> SliceRecord:
        result = self.feasibility(profile, slice_id=slice_id)
        if not result.feasible:
            raise AdmissionError(f"serviceProfile: admission rejected: {result.reason}")
        if put_in_force:
            others = {r.index: r.reservation for sid, r in self.records.items() if sid != slice_id}
            put_reservation_in_force(self.managers, k, result.reservation, others)
        terms = profile_terms(profile)
        app_ms = float(self.scenario.params.service.app_latency_s[k] * 1e3)
        record = SliceRecord(
            slice_id=slice_id,
            index=k,
            profile=profile,
            terms=terms,
            n_ues=float(profile.max_number_of_ues or self.scenario.params.traffic.scale[k]),
            reservation=result.reservation,
            budgets=self.decomposition(terms, result.kpis, k, app_ms),
        )
        self.records[slice_id] = record
        self.assurance.admit(k, targets_with(self.assurance.targets, k, terms))
        self._sync_presence()
        return record

    def _sync_presence(self) -> None:
        """Tell the network which slices are present: the provisioned ones (no UEs, no state for the others)."""
        if not self._presence_frozen and not np.array_equal(self.sim.present[0], self.active):
            self.sim.set_presence(self.active)

    def _restart_tenancy(self, seed: int) -> None:
        """Terminate the request process's live slices and start it again from ``seed`` (a seeded reset)."""
        assert self.tenancy is not None
        self.tenancy.forget(self.records)  # an operator's slice that took a released tenant's id stays
        for sid in list(self.tenancy.live):
            if sid in self.records:
                self.terminate_slice(sid)
        self.tenancy = Tenancy.of(self.scenario, tenancy_seed(seed))
        self.tenancy.start(self)

    def _scenario_targets(self) -> SlaTargets:
        return SlaTargets.from_spec(self.scenario.spec)

    def _index_of(self, profile: ServiceProfile) -> int:
        for snssai in profile.snssais:
            k = slice_index(self.scenario, snssai)
            if k is not None:
                return k
        known = ", ".join(f"{s.snssai.sst}-{s.snssai.sd}" for s in self.scenario.spec.slices)
        raise ConfigError(f"plmnInfoList.snssai: no slice of scenario {self.scenario.name} carries "
                          f"{[s.key for s in profile.snssais]} (known: {known})")  # fmt: skip

    def _record(self, slice_id: str) -> SliceRecord:
        if slice_id not in self.records:
            raise NotFoundError(f"NetworkSlice={slice_id}: no such slice")
        return self.records[slice_id]


def _network(scenario: Scenario, n_envs: int, seed: int | None, backend: str) -> Network:
    """The simulator, or with ``backend="emulated"`` the hybrid network on the emulated data plane."""
    if backend != "emulated":
        return Simulator(scenario.params, n_envs=n_envs, seed=seed, backend=backend)
    if n_envs != 1:
        raise ConfigError(f"n_envs: the emulated backend runs one network, got {n_envs}")
    from netslice.network.emulation.hybrid import HybridNetwork  # the emulation extra, only when asked for

    return HybridNetwork(scenario.params, seed=seed)
