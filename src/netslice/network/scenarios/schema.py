"""Pydantic schema of a scenario YAML file.

Every model forbids unknown keys, and every field states its unit and its rule, so that a typo
or an impossible value is rejected with a message naming the field (for example
``slices.0.sla.latency_ms: Input should be greater than 0``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Snssai(Strict):
    """S-NSSAI: slice/service type (8 bits) and optional slice differentiator (24 bits, hex)."""

    sst: int = Field(ge=0, le=255)
    sd: str | None = Field(default=None, pattern=r"^[A-Fa-f0-9]{6}$")


class CellSpec(Strict):
    """One cell and the transport node (cell site) it hangs off."""

    name: str
    site: str


class CellGrid(Strict):
    """Generated cells: ``count`` cells named ``{prefix}{i}``, ``cells_per_site`` per cell site."""

    count: int = Field(ge=1, le=100_000)
    prefix: str = "cell"
    cells_per_site: int = Field(default=3, ge=1)


class RanSpec(Strict):
    """Radio access network (one RAT and carrier for every cell)."""

    rat: Literal["lte", "nr"]
    bandwidth_mhz: Pos
    scs_khz: Literal[15, 30, 60] = 15
    duplex: Literal["fdd", "tdd"] = "fdd"
    dl_fraction: Fraction = Field(default=0.5, description="TDD share of slots for DL (ignored for FDD)")
    layers_dl: int = Field(default=1, ge=1, le=8)
    layers_ul: int = Field(default=1, ge=1, le=4)
    cqi_table: Literal[1, 2, 3] = 1
    base_latency_ul_ms: NonNeg = 10.0
    base_latency_dl_ms: NonNeg = 4.0
    harq_rtt_ms: NonNeg = 8.0
    harq_max_tx: int = Field(default=4, ge=1, le=8)
    bler_slope_db: Pos = 2.0
    buffer_kbit: Pos = 8000.0
    shadow_sigma_db: NonNeg = 0.0
    shadow_rho: Fraction = 0.9
    cells: list[CellSpec] | CellGrid


class LinkSpec(Strict):
    """A full-duplex transport link between two nodes."""

    a: str
    b: str
    capacity_mbps: Pos
    length_km: NonNeg = 0.0
    switch_delay_us: NonNeg = 10.0


class TreeSpec(Strict):
    """Generated aggregation tree: cell sites -> access switches -> aggregation -> core site."""

    sites_per_access: int = Field(ge=1)
    access_per_aggregation: int = Field(ge=1)
    access_capacity_mbps: Pos
    aggregation_capacity_mbps: Pos
    backbone_capacity_mbps: Pos
    access_km: NonNeg = 2.0
    aggregation_km: NonNeg = 10.0
    backbone_km: NonNeg = 30.0
    switch_delay_us: NonNeg = 10.0


class TransportSpec(Strict):
    """Transport network: explicit links and/or a generated tree towards ``core_site``."""

    core_site: str
    links: list[LinkSpec] = Field(default_factory=list)
    tree: TreeSpec | None = None
    buffer_kbit: Pos = 4000.0
    #: Token-bucket depth of every slice's shaper per link and direction (kbit); 0: each share is a link of its
    #: own rate (see netslice.network.transport).
    burst_kbit: NonNeg = 0.0


class CoreSpec(Strict):
    """User plane of the core: one UPF per slice on a shared host."""

    vcpus: Pos
    kpps_per_vcpu: Pos = 200.0
    processing_delay_us: NonNeg = 50.0
    buffer_pkts: Pos = 10000.0


class EdgeSite(Strict):
    """An edge or cloud site and the transport node it is attached to."""

    name: str
    node: str
    cores: Pos


class EdgeSpec(Strict):
    """Edge and cloud computing sites."""

    sites: list[EdgeSite] = Field(min_length=1)
    buffer_requests: Pos = 1000.0
    #: CFS bandwidth period of sub-core quotas (ms; Linux's default is 100); 0: a quota below one core is a
    #: slowed server (see netslice.network.edge).
    cfs_period_ms: NonNeg = 0.0


class EnforcementSpec(Strict):
    """Reconfiguration time per domain (ms): how long the old allocation keeps running."""

    ran_ms: NonNeg = 1.0
    tn_ms: NonNeg = 20.0
    cn_ms: NonNeg = 1000.0
    edge_ms: NonNeg = 1000.0


class BurstSpec(Strict):
    """Two-state MMPP-style bursts."""

    factor: Annotated[float, Field(ge=1)] = 1.0
    p_on: Fraction = 0.0
    p_off: Fraction = 1.0


class TrafficSpec(Strict):
    """Load of a slice: peak active UEs and a 24 h profile (a0, a1, b1, a2, b2, a3, b3)."""

    scale: Pos
    harmonics: list[float] = Field(min_length=7, max_length=7)
    noise_sigma: NonNeg = 0.1
    noise_rho: Annotated[float, Field(ge=0, lt=1)] = 0.7
    day_sigma: NonNeg = 0.1
    burst: BurstSpec = BurstSpec()
    cell_concentration: Pos | None = Field(
        default=None, description="Dirichlet concentration of the UE split over cells; None = uniform"
    )


class DemandSpec(Strict):
    """What one active UE asks of the network."""

    ul_kbps: NonNeg = 0.0
    dl_kbps: NonNeg = 0.0
    ul_unit_bytes: Pos = 1500.0
    dl_unit_bytes: Pos = 1500.0
    pkt_bytes: Pos = 1500.0
    req_per_ue: NonNeg = 0.0
    edge_work_ms: Pos = 1.0
    interactive: bool = False
    ca2: NonNeg = 1.0
    cs2_edge: NonNeg = 1.0
    latency: Literal["ul", "dl", "round_trip"] = "round_trip"
    app_latency_ms: NonNeg = 0.0
    fps: NonNeg = 0.0


class RadioSpec(Strict):
    """Mean SINR of the slice's UEs (dB) and its spread across cells."""

    sinr_ul_db: float
    sinr_dl_db: float
    cell_spread_db: NonNeg = 0.0


class SlaSpec(Strict):
    """Service level agreement of a slice (consumed by the orchestration layer)."""

    latency_ms: Pos | None = None
    latency_percentile: Literal["mean", "tail"] = "mean"
    thp_dl_kbps: NonNeg | None = None
    thp_ul_kbps: NonNeg | None = None
    fps: Pos | None = None
    reliability: Annotated[float, Field(gt=0, lt=1)] | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> SlaSpec:
        if all(v is None for v in (self.latency_ms, self.thp_dl_kbps, self.thp_ul_kbps, self.fps, self.reliability)):
            raise ValueError("sla: give at least one of latency_ms, thp_dl_kbps, thp_ul_kbps, fps, reliability")
        return self


class AllocationSpec(Strict):
    """A per-slice allocation (shares of every node's capacity, MCS caps)."""

    prb_ul: Fraction
    prb_dl: Fraction
    mcs_ul: Fraction = 0.0
    mcs_dl: Fraction = 0.0
    tn_bw: Fraction
    cn_cpu: Fraction
    edge_cpu: Fraction


class SliceSpec(Strict):
    """One network slice."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["embb", "video", "mar", "urllc", "mmtc", "v2x"]
    snssai: Snssai
    edge_site: str
    traffic: TrafficSpec
    demand: DemandSpec
    radio: RadioSpec
    sla: SlaSpec
    initial_allocation: AllocationSpec


#: The most slice requests per slot (on average) a scenario may ask for: each is admitted or rejected one by one.
MAX_REQUESTS_PER_SLOT = 1000


class ArrivalsSpec(Strict):
    """Slices that come and go: requests from a catalogue of the scenario's slice kinds.

    Requests arrive as a Poisson process; each asks for a slice of one kind (drawn from ``mix``),
    which occupies a free slot of that kind (a slice of :attr:`ScenarioSpec.slices`) for an
    exponentially distributed lifetime, after admission control (consumed by the orchestration
    layer's tenancy process).
    """

    # Finite: an infinite rate or lifetime has no Poisson draw (numpy's "lam value too large").
    rate_per_hour: Pos = Field(allow_inf_nan=False, description="slice requests per hour per network (Poisson)")
    mean_lifetime_h: Pos = Field(
        allow_inf_nan=False, description="mean lifetime of an admitted slice in hours (exponential)"
    )
    max_concurrent: int = Field(ge=1, description="most slices live at once; requests beyond are rejected")
    mix: dict[str, Annotated[float, Field(gt=0)]] = Field(
        min_length=1, description="relative frequency of each slice kind among requests"
    )


class ScenarioSpec(Strict):
    """A whole scenario as written in YAML."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*-v[0-9]+$")
    description: str
    seed: int = Field(default=0, ge=0, description="seed of the build-time draws (cell splits, SINR spread)")
    slot_s: Pos
    start_hour: Annotated[float, Field(ge=0, lt=24)] = 0.0
    slots_per_episode: int = Field(default=24, ge=1)
    ran: RanSpec
    transport: TransportSpec
    core: CoreSpec
    edge: EdgeSpec
    enforcement: EnforcementSpec = EnforcementSpec()
    slices: list[SliceSpec] = Field(min_length=1)
    arrivals: ArrivalsSpec | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> ScenarioSpec:
        names = [s.name for s in self.slices]
        if len(set(names)) != len(names):
            raise ValueError(f"slices: names must be unique, got {names}")
        sites = {s.name for s in self.edge.sites}
        for i, s in enumerate(self.slices):
            if s.edge_site not in sites:
                raise ValueError(f"slices.{i}.edge_site: {s.edge_site!r} is not one of the edge sites {sorted(sites)}")
        for row in ("prb_ul", "prb_dl", "tn_bw", "cn_cpu"):
            total = sum(getattr(s.initial_allocation, row) for s in self.slices)
            if total > 1.0 + 1e-9:
                raise ValueError(f"slices.*.initial_allocation.{row}: shares must sum to at most 1, got {total:.4f}")
        for site in sites:
            total = sum(s.initial_allocation.edge_cpu for s in self.slices if s.edge_site == site)
            if total > 1.0 + 1e-9:
                raise ValueError(
                    f"slices.*.initial_allocation.edge_cpu: shares of edge site {site!r} must sum to at most 1, "
                    f"got {total:.4f}"
                )
        if self.arrivals is not None:
            kinds = {s.kind for s in self.slices}
            unknown = sorted(set(self.arrivals.mix) - kinds)
            if unknown:
                raise ValueError(f"arrivals.mix: {unknown} is not the kind of any slice (kinds: {sorted(kinds)})")
            per_slot = self.arrivals.rate_per_hour * self.slot_s / 3600.0
            if per_slot > MAX_REQUESTS_PER_SLOT:  # each request goes through admission control, one by one
                raise ValueError(
                    f"arrivals.rate_per_hour: at most {MAX_REQUESTS_PER_SLOT:,} slice requests per slot on average "
                    f"({MAX_REQUESTS_PER_SLOT * 3600.0 / self.slot_s:,.0f} per hour with {self.slot_s:g} s slots), "
                    f"got {per_slot:,.0f}"
                )
        if self.transport.tree is None and not self.transport.links:
            raise ValueError("transport: give links, a tree, or both")
        return self
