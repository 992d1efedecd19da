"""Slices that come and go: slice requests arriving at the orchestrator and leaving after their lifetime.

A scenario with an ``arrivals`` section (:class:`~netslice.network.scenarios.schema.ArrivalsSpec`)
declares slice *slots* (its ``slices``) and a catalogue: requests arrive as a Poisson process of
``rate_per_hour``, each for a slice of one kind (drawn from ``mix``). A request is served through
the orchestrator's lifecycle like an operator's: it becomes a NetworkSlice with the ServiceProfile of
a free slot of its kind (:func:`~netslice.orchestration.lifecycle.scenario_profile`), after
admission control. It is rejected, and counted, for one of three reasons:

* ``limit``: ``max_concurrent`` slices are already live;
* ``slots``: every slot of its kind is taken;
* ``capacity``: admission control found the capacity the live slices have not reserved too small.

An admitted slice lives an exponential lifetime of mean ``mean_lifetime_h`` (at least one slot)
and is then terminated. Requests and departures take effect between two slots: after slot ``t``
ran, departures first, then the arrivals of slot ``t``'s interval, so that the observation of slot
``t + 1`` shows the new set. The process starts in steady state: the initial tenants are the
requests of one mean lifetime before the start (Poisson with mean ``rate * lifetime``), admitted in
order, each with a fresh exponential residual lifetime (memorylessness).

The process has its own random generator (seeded from the orchestrator's seed), separate from the
network's: the same seed gives the same requests whatever the policy does (admission control does
not depend on the policy: it checks reservations, not the allocation in force). All the
orchestrator's networks share the tenants (one lifecycle); their traffic differs.

Metrics (documented once, here): ``tenancy/requests``, ``tenancy/admitted``, ``tenancy/departed``,
``tenancy/rejected/limit``, ``tenancy/rejected/slots``, ``tenancy/rejected/capacity`` (counts since
creation), ``tenancy/live`` (slices live now).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from netslice.errors import AdmissionError, ConfigError
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.schema import ArrivalsSpec
from netslice.orchestration.lifecycle import SliceRecord, scenario_profile

if TYPE_CHECKING:
    from netslice.orchestration.orchestrator import Orchestrator

#: Rejection reasons, in the order they are checked.
REJECTIONS = ("limit", "slots", "capacity")


def tenancy_seed(seed: int | None) -> list[int] | None:
    """The seed of an orchestrator's request process: derived from the orchestrator's, a stream of its own."""
    return None if seed is None else [int(seed), 0x7E]


@dataclass(frozen=True)
class Admission:
    """One served request.

    Attributes:
        slot: the process's clock (:attr:`Tenancy.clock`) when the slice was admitted: it is live from that slot on.
        slice_id: the NetworkSlice id (``<kind>-<n>``).
        kind: the slice kind.
        index: the scenario slot it occupies.
        ends: the clock at which it is terminated (its last live slot is ``ends - 1``).
    """

    slot: int
    slice_id: str
    kind: str
    index: int
    ends: int


@dataclass
class Tenancy:
    """The request process of one orchestrator (see the module docstring).

    The process keeps its own clock (:attr:`clock`: slots run since it started), since the orchestrator's slot
    counter restarts at every episode while slices live across episodes.

    Args:
        arrivals: the scenario's catalogue and rates.
        kinds: each scenario slot's kind, in slice order.
        slot_s: slot length (s).
        seed: seed of the process's generator (``None``: from the OS).
    """

    arrivals: ArrivalsSpec
    kinds: tuple[str, ...]
    slot_s: float
    seed: int | list[int] | None = None
    rng: np.random.Generator = field(init=False)
    live: dict[str, Admission] = field(default_factory=dict, init=False)
    history: list[Admission] = field(default_factory=list, init=False)
    counts: dict[str, int] = field(default_factory=dict, init=False)
    clock: int = field(default=0, init=False)
    _serial: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.counts = {"requests": 0, "admitted": 0, "departed": 0, **{f"rejected/{r}": 0 for r in REJECTIONS}}
        names = list(self.arrivals.mix)
        p = np.array([self.arrivals.mix[k] for k in names], dtype=np.float64)
        self._mix_kinds = tuple(names)
        self._mix_p = p / p.sum()

    @classmethod
    def of(cls, scenario: Scenario, seed: int | list[int] | None) -> Tenancy:
        """The process of ``scenario`` (which must have an ``arrivals`` section)."""
        if scenario.spec.arrivals is None:
            raise ConfigError(f"scenario {scenario.name}: has no arrivals section (slices do not come and go)")
        kinds = tuple(s.kind for s in scenario.spec.slices)
        return cls(scenario.spec.arrivals, kinds, float(scenario.params.slot_s), seed)

    @property
    def slot_h(self) -> float:
        """Slot length in hours."""
        return self.slot_s / 3600.0

    def start(self, orch: Orchestrator) -> None:
        """Admit the initial tenants (steady state, see the module docstring)."""
        mean = self.arrivals.rate_per_hour * self.arrivals.mean_lifetime_h
        for _ in range(int(self.rng.poisson(mean))):
            self._request(orch)

    def advance(self, orch: Orchestrator) -> None:
        """Between two slots: terminate the slices whose lifetime is over, then serve this slot's requests."""
        self.clock += 1
        for sid, adm in list(self.live.items()):
            if adm.ends <= self.clock:
                del self.live[sid]
                self.counts["departed"] += 1
                orch.terminate_slice(sid)
        for _ in range(int(self.rng.poisson(self.arrivals.rate_per_hour * self.slot_h))):
            self._request(orch)

    def metrics(self) -> dict[str, float]:
        """The ``tenancy/*`` metrics (see the module docstring)."""
        out = {f"tenancy/{k}": float(v) for k, v in self.counts.items()}
        out["tenancy/live"] = float(len(self.live))
        return out

    def _request(self, orch: Orchestrator) -> None:
        kind = str(self._mix_kinds[int(self.rng.choice(len(self._mix_kinds), p=self._mix_p))])
        # The lifetime is drawn for every request, served or not, so that one decision does not shift the others.
        life_slots = max(1, int(np.ceil(self.rng.exponential(self.arrivals.mean_lifetime_h) / self.slot_h)))
        self.counts["requests"] += 1
        if len(self.live) >= self.arrivals.max_concurrent:
            self.counts["rejected/limit"] += 1
            return
        taken = {adm.index for adm in self.live.values()}
        free = [k for k, kk in enumerate(self.kinds) if kk == kind and k not in taken and not orch.active[k]]
        if not free:
            self.counts["rejected/slots"] += 1
            return
        k = free[0]
        self._serial += 1
        sid = f"{kind}-{self._serial}"
        while sid in orch.records:  # an operator's slice (e.g. created over the NRM) already has that id
            self._serial += 1
            sid = f"{kind}-{self._serial}"
        try:
            orch.create_slice(sid, scenario_profile(orch.scenario, k))
        except AdmissionError:
            self.counts["rejected/capacity"] += 1
            return
        adm = Admission(slot=self.clock, slice_id=sid, kind=kind, index=k, ends=self.clock + life_slots)
        self.live[sid] = adm
        self.history.append(adm)
        self.counts["admitted"] += 1

    def forget(self, records: Mapping[str, SliceRecord]) -> None:
        """Drop live tenants that were terminated from outside (e.g. through the NRM).

        A tenant is gone when ``records`` (the orchestrator's, by slice id) no longer holds its id, or holds it for
        another slot: an operator released it and created a slice of their own under the same id, which the
        process must not terminate when the former tenant's lifetime ends.
        """
        for sid in [s for s, adm in self.live.items() if s not in records or records[s].index != adm.index]:
            del self.live[sid]
