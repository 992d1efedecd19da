"""Turn a validated :class:`ScenarioSpec` into the simulator's frozen parameter arrays."""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from netslice.errors import ConfigError
from netslice.network.allocation import RESOURCES
from netslice.network.channel import (
    CQI_TABLES,
    OVERHEAD_FR1,
    n_prb,
    prb_bits_per_second,
    thresholds_for,
)
from netslice.network.core import CoreParams
from netslice.network.edge import EdgeParams
from netslice.network.kernel import SimParams
from netslice.network.ran import RanParams
from netslice.network.scenarios.schema import CellGrid, RanSpec, ScenarioSpec, TransportSpec
from netslice.network.traffic import ServiceParams, TrafficParams, profile_peak
from netslice.network.transport import FIBRE_S_PER_KM, TransportParams

FloatArray = NDArray[np.float64]

#: Above this many incidence entries the routing matrices are stored sparse.
DENSE_LIMIT = 50_000
_DOMAIN_OF_ROW = {"prb_ul": "ran", "prb_dl": "ran", "mcs_ul": "ran", "mcs_dl": "ran", "tn_bw": "tn",
                  "cn_cpu": "cn", "edge_cpu": "edge"}  # fmt: skip


def cell_sites(ran: RanSpec) -> tuple[list[str], list[str]]:
    """Names of the cells and of the transport node (site) of each cell."""
    if isinstance(ran.cells, CellGrid):
        g = ran.cells
        names = [f"{g.prefix}{i}" for i in range(g.count)]
        return names, [f"{g.prefix}site{i // g.cells_per_site}" for i in range(g.count)]
    return [c.name for c in ran.cells], [c.site for c in ran.cells]


def _graph(spec: TransportSpec, sites: list[str]) -> nx.Graph:
    """Transport graph: explicit links plus the generated tree, edge attribute ``delay_s``."""
    graph = nx.Graph()
    for i, link in enumerate(spec.links):
        if graph.has_edge(link.a, link.b):
            raise ConfigError(f"transport.links.{i}: duplicate link {link.a}-{link.b}")
        graph.add_edge(link.a, link.b, capacity_bps=link.capacity_mbps * 1e6,
                       delay_s=link.length_km * FIBRE_S_PER_KM + link.switch_delay_us * 1e-6)  # fmt: skip
    tree = spec.tree
    if tree is not None:
        unique_sites = list(dict.fromkeys(sites))
        sw = tree.switch_delay_us * 1e-6
        n_access = -(-len(unique_sites) // tree.sites_per_access)
        for i, site in enumerate(unique_sites):
            graph.add_edge(site, f"access{i // tree.sites_per_access}", capacity_bps=tree.access_capacity_mbps * 1e6,
                           delay_s=tree.access_km * FIBRE_S_PER_KM + sw)  # fmt: skip
        for j in range(n_access):
            graph.add_edge(f"access{j}", f"agg{j // tree.access_per_aggregation}",
                           capacity_bps=tree.aggregation_capacity_mbps * 1e6,
                           delay_s=tree.aggregation_km * FIBRE_S_PER_KM + sw)  # fmt: skip
        for m in range(-(-n_access // tree.access_per_aggregation)):
            graph.add_edge(f"agg{m}", spec.core_site, capacity_bps=tree.backbone_capacity_mbps * 1e6,
                           delay_s=tree.backbone_km * FIBRE_S_PER_KM + sw)  # fmt: skip
    return graph


def _incidence(rows: list[list[int]], n_links: int) -> FloatArray | sparse.csr_array:
    """0/1 matrix with a row per path; sparse when large."""
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.array([i for r in rows for i in r], dtype=np.int64)
    mat = sparse.csr_array((np.ones(indices.size), indices, indptr), shape=(len(rows), n_links))
    return mat if len(rows) * n_links > DENSE_LIMIT else mat.toarray()


def build_transport(spec: ScenarioSpec, sites: list[str]) -> TransportParams:
    """Links, N3 paths of every cell and N6 paths of every slice."""
    graph = _graph(spec.transport, sites)
    core = spec.transport.core_site
    if core not in graph:
        raise ConfigError(f"transport.core_site: {core!r} is not a node of the transport graph")
    edges = list(graph.edges)
    index = {frozenset(e): i for i, e in enumerate(edges)}
    paths = nx.single_source_dijkstra_path(graph, core, weight="delay_s")

    def links_to(node: str, field: str) -> list[int]:
        if node not in paths:
            raise ConfigError(f"{field}: node {node!r} has no transport path to the core site {core!r}")
        p = paths[node]
        return [index[frozenset((p[i], p[i + 1]))] for i in range(len(p) - 1)]

    access = [links_to(s, f"ran.cells.{i}.site") for i, s in enumerate(sites)]
    node_of_site = {e.name: e.node for e in spec.edge.sites}
    n6_rows = [links_to(node_of_site[s.edge_site], f"slices.{k}.edge_site") for k, s in enumerate(spec.slices)]
    n6 = np.zeros((len(spec.slices), len(edges)))
    for k, row in enumerate(n6_rows):
        n6[k, row] = 1.0
    access_m = _incidence(access, len(edges))
    return TransportParams(
        capacity_bps=np.array([graph.edges[e]["capacity_bps"] for e in edges]),
        link_delay_s=np.array([graph.edges[e]["delay_s"] for e in edges]),
        access=access_m,
        access_t=access_m.T.tocsr() if isinstance(access_m, sparse.csr_array) else np.ascontiguousarray(access_m.T),
        n6=n6,
        buffer_bits=spec.transport.buffer_kbit * 1e3,
        link_names=tuple(f"{a}-{b}" for a, b in edges),
        burst_bits=spec.transport.burst_kbit * 1e3,
    )


def build_ran(spec: ScenarioSpec, n_cells: int, rng: np.random.Generator) -> RanParams:
    """Cells, their PRBs and the slices' SINR per cell."""
    r = spec.ran
    try:
        n_rb = n_prb(r.rat, r.bandwidth_mhz, r.scs_khz)
    except ConfigError as err:
        raise ConfigError(f"ran: {err}") from err
    split = (1.0 - r.dl_fraction, r.dl_fraction) if r.duplex == "tdd" else (1.0, 1.0)
    prb = np.array([[n_rb * split[0]] * n_cells, [n_rb * split[1]] * n_cells], dtype=np.float64)
    rate = [prb_bits_per_second(r.scs_khz, OVERHEAD_FR1[d], layers) for d, layers in
            (("ul", r.layers_ul), ("dl", r.layers_dl))]  # fmt: skip
    prb_rate = np.array(rate)[:, None] * np.ones((1, n_cells))
    mean = np.array([[s.radio.sinr_ul_db for s in spec.slices], [s.radio.sinr_dl_db for s in spec.slices]])
    spread = np.array([s.radio.cell_spread_db for s in spec.slices])
    sinr = mean[:, None, :] + spread * rng.standard_normal((1, n_cells, len(spec.slices)))
    return RanParams(
        prb=prb,
        prb_rate=prb_rate,
        sinr_db=sinr,
        shadow_sigma_db=r.shadow_sigma_db,
        shadow_rho=r.shadow_rho,
        thresholds_db=np.concatenate([[-np.inf], thresholds_for(r.cqi_table)]),
        se_table=CQI_TABLES[r.cqi_table].copy(),
        bler_slope_db=r.bler_slope_db,
        harq_max_tx=r.harq_max_tx,
        harq_rtt_s=r.harq_rtt_ms * 1e-3,
        base_latency_s=np.array([r.base_latency_ul_ms, r.base_latency_dl_ms]) * 1e-3,
        buffer_bits=r.buffer_kbit * 1e3,
    )


def build_traffic(spec: ScenarioSpec, n_cells: int, rng: np.random.Generator) -> TrafficParams:
    """Traffic processes and the split of each slice's UEs over cells."""
    tr = [s.traffic for s in spec.slices]
    harmonics = np.array([t.harmonics for t in tr], dtype=np.float64)
    peak = profile_peak(harmonics)
    for k, p in enumerate(peak):
        if p <= 0.0:
            raise ConfigError(f"slices.{k}.traffic.harmonics: the 24 h profile must be positive somewhere")
    share = np.empty((n_cells, len(tr)))
    for k, t in enumerate(tr):
        share[:, k] = 1.0 / n_cells if t.cell_concentration is None else rng.dirichlet(
            np.full(n_cells, t.cell_concentration))  # fmt: skip
    return TrafficParams(
        scale=np.array([t.scale for t in tr]),
        harmonics=harmonics,
        profile_peak=peak,
        noise_sigma=np.array([t.noise_sigma for t in tr]),
        noise_rho=np.array([t.noise_rho for t in tr]),
        day_sigma=np.array([t.day_sigma for t in tr]),
        burst_factor=np.array([t.burst.factor for t in tr]),
        p_burst_on=np.array([t.burst.p_on for t in tr]),
        p_burst_off=np.array([t.burst.p_off for t in tr]),
        cell_share=share,
    )


def build_service(spec: ScenarioSpec) -> ServiceParams:
    """Per-UE demand arrays."""
    d = [s.demand for s in spec.slices]
    dirs = {"ul": (1.0, 0.0), "dl": (0.0, 1.0), "round_trip": (1.0, 1.0)}

    def arr(field: str) -> FloatArray:
        return np.array([getattr(x, field) for x in d], dtype=np.float64)

    return ServiceParams(
        ul_kbps=arr("ul_kbps"),
        dl_kbps=arr("dl_kbps"),
        job_bits=np.stack([arr("ul_unit_bytes"), arr("dl_unit_bytes")]) * 8.0,
        pkt_bits=arr("pkt_bytes") * 8.0,
        req_per_ue=arr("req_per_ue"),
        edge_work_s=arr("edge_work_ms") * 1e-3,
        interactive=np.array([x.interactive for x in d]),
        ca2=arr("ca2"),
        cs2_edge=arr("cs2_edge"),
        latency_dirs=np.array([dirs[x.latency] for x in d], dtype=np.float64).T,
        app_latency_s=arr("app_latency_ms") * 1e-3,
        fps=arr("fps"),
    )


def build_params(spec: ScenarioSpec) -> SimParams:
    """Build every parameter array of a scenario (deterministic given ``spec.seed``)."""
    rng = np.random.default_rng(spec.seed)
    names, sites = cell_sites(spec.ran)
    transport = build_transport(spec, sites)
    ran = build_ran(spec, len(names), rng)
    traffic = build_traffic(spec, len(names), rng)
    service = build_service(spec)
    site_names = tuple(e.name for e in spec.edge.sites)
    edge = EdgeParams(
        cores=np.array([e.cores for e in spec.edge.sites]),
        site_of_slice=np.array([site_names.index(s.edge_site) for s in spec.slices], dtype=np.int64),
        site_names=site_names,
        buffer_jobs=spec.edge.buffer_requests,
        cfs_period_s=spec.edge.cfs_period_ms * 1e-3,
    )
    core = CoreParams(
        cores=spec.core.vcpus,
        pps_per_core=spec.core.kpps_per_vcpu * 1e3,
        processing_delay_s=spec.core.processing_delay_us * 1e-6,
        buffer_pkts=spec.core.buffer_pkts,
    )
    delay_ms = spec.enforcement.model_dump()
    enforce = np.array([min(1.0, delay_ms[f"{_DOMAIN_OF_ROW[r]}_ms"] * 1e-3 / spec.slot_s) for r in RESOURCES])
    initial = np.array([[getattr(s.initial_allocation, r) for s in spec.slices] for r in RESOURCES])
    params = SimParams(
        name=spec.name,
        slice_names=tuple(s.name for s in spec.slices),
        slot_s=spec.slot_s,
        start_hour=spec.start_hour,
        traffic=traffic,
        service=service,
        ran=ran,
        transport=transport,
        core=core,
        edge=edge,
        enforce_fraction=enforce,
        initial_allocation=initial,
        per_ue_bits=np.stack([service.ul_kbps, service.dl_kbps]) * 1e3,
    )
    check_sla_floor(spec, params)
    return params


def latency_floor_ms(params: SimParams) -> FloatArray:
    """Latency no allocation can beat, per slice (ms): application, RAN scheduling and propagation.

    Uses the shortest cell path; queueing, serialisation and compute only add to it.
    """
    dirs = params.service.latency_dirs
    ran_fixed = dirs.T @ params.ran.base_latency_s  # (K,)
    path = (
        np.asarray(params.transport.access @ params.transport.link_delay_s).min()
        + params.transport.n6 @ params.transport.link_delay_s
    )
    tn_fixed = dirs.sum(axis=0) * path
    cn_fixed = dirs.sum(axis=0) * params.core.processing_delay_s
    return np.asarray((params.service.app_latency_s + ran_fixed + tn_fixed + cn_fixed) * 1e3)


def check_sla_floor(spec: ScenarioSpec, params: SimParams) -> None:
    """Reject latency SLAs below the slice's latency floor (impossible whatever the allocation)."""
    floor = latency_floor_ms(params)
    for k, s in enumerate(spec.slices):
        if s.sla.latency_ms is not None and s.sla.latency_ms <= floor[k]:
            raise ConfigError(
                f"slices.{k}.sla.latency_ms: {s.sla.latency_ms} ms is impossible, the slice's latency floor "
                f"(application + RAN scheduling + propagation) is {floor[k]:.3f} ms"
            )
