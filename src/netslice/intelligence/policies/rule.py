"""The original testbed's rule-based policy: traffic-proportional static provisioning with a 15 % floor.

OnSlicing's ``baseline_policy`` (Q. Liu, N. Choi, T. Han, "OnSlicing: Online End-to-End Network Slicing with
Reinforcement Learning", ACM CoNEXT 2021; public testbed code ``liuqiangus/End-to-End-Slicing:system_multi.py``)
sets every knob of slice k to::

    a[m, k] = clip(static_conf[m, k] * traffic_k / TRAFFIC_SCALE_k, 0.15, 1)

with ``static_conf`` = 0.15 everywhere except MAR: UL PRB, TN BW, CPU = 0.4; video: DL RBG,
TN BW = 0.8; IoT: UL MCS, DL MCS = 0.4. The testbed's knobs map to our rows as UL PRB -> prb_ul,
DL RBG -> prb_dl, UL/DL max-MCS -> mcs_ul/mcs_dl, TN BW -> tn_bw, CPU (the slice's SPGW-U/edge
container) -> edge_cpu; the core CPU row ``cn_cpu`` keeps 0.15 for every slice.

* ``traffic_k / TRAFFIC_SCALE_k`` is the slice's active UEs of the last slot (``Kpis.active_ues``)
  over its traffic scale (``params.traffic.scale``: [5, 2, 100] in testbed-v0, as the testbed's
  ``TRAFFIC_SCALE``). In the first slot after a reset no slot has been measured yet and the rule
  uses 1.0 (provisioning for the peak).
* testbed-v0: slices get the table above by their ``kind`` (mar, video, mmtc).
* Other scenarios (generalisation): 0.4 for the rows the slice's SLA depends on, 0.15 elsewhere.
  A latency term depends on the PRB row of the heavier direction among those its latency covers
  (bits per UE: the open-loop rate, or the transfer unit of interactive slices; both on a tie),
  on tn_bw and on edge_cpu; a DL throughput or frame-rate term on prb_dl and tn_bw; an UL
  throughput term on prb_ul and tn_bw; a reliability term on mcs_ul and mcs_dl (a lower MCS
  cap is more robust). On testbed-v0 this reproduces the table except video's level (0.4, not 0.8).
* Over-capacity rows are left to the orchestrator's proportional scaling, as in the testbed.

:class:`RuleBasedPolicy` implements both protocols: ``act_context`` reads the exact active UEs
from the raw observation; ``act`` reads them from the encoded observation (feature
``active_ues`` of each slice block, clipped to [0, 5] and float32; 0 means "not measured yet").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.envs.features import N_SLICE_FEATURES, SLICE_FEATURES
from netslice.intelligence.policies.base import FloatArray, PolicyContext
from netslice.network.allocation import EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, PRB_DL, PRB_UL, TN_BW
from netslice.network.scenarios import Scenario

#: Lower and upper clip of every knob (the testbed's 15 % floor).
FLOOR, CEIL = 0.15, 1.0
#: ``static_conf`` of the testbed by slice kind (rows not listed: :data:`FLOOR`).
TESTBED_CONF: dict[str, dict[int, float]] = {
    "mar": {PRB_UL: 0.4, TN_BW: 0.4, EDGE_CPU: 0.4},
    "video": {PRB_DL: 0.8, TN_BW: 0.8},
    "mmtc": {MCS_UL: 0.4, MCS_DL: 0.4},
}
#: Scenarios that use :data:`TESTBED_CONF`.
TESTBED_SCENARIOS = ("testbed-v0",)
#: Level of the SLA-relevant rows in the generalisation to other scenarios.
GENERIC_LEVEL = 0.4
_ACTIVE_UES = SLICE_FEATURES.index("active_ues")


def original_conf(scenario: Scenario) -> FloatArray:
    """``static_conf`` ``(7, K)`` of the testbed table, slices matched by kind."""
    conf = np.full((N_RESOURCES, scenario.params.n_slices), FLOOR)
    for k, s in enumerate(scenario.spec.slices):
        for row, level in TESTBED_CONF.get(s.kind, {}).items():
            conf[row, k] = level
    return conf


def generic_conf(scenario: Scenario) -> FloatArray:
    """``static_conf`` ``(7, K)`` of the generalisation: :data:`GENERIC_LEVEL` on SLA-relevant rows."""
    p = scenario.params
    svc = p.service
    bits = np.where(svc.interactive, svc.job_bits, p.per_ue_bits)  # (2, K) [UL, DL]
    conf = np.full((N_RESOURCES, p.n_slices), FLOOR)
    for k, s in enumerate(scenario.spec.slices):
        rows: set[int] = set()
        if s.sla.latency_ms is not None:
            dirs = svc.latency_dirs[:, k] > 0
            dirs = dirs if dirs.any() else np.ones(2, dtype=bool)
            b = np.where(dirs, bits[:, k], -np.inf)
            heavy = np.isclose(b, b.max()) & dirs
            rows |= {row for row, on in zip((PRB_UL, PRB_DL), heavy, strict=True) if on} | {TN_BW, EDGE_CPU}
        if s.sla.thp_dl_kbps is not None or s.sla.fps is not None:
            rows |= {PRB_DL, TN_BW}
        if s.sla.thp_ul_kbps is not None:
            rows |= {PRB_UL, TN_BW}
        if s.sla.reliability is not None:
            rows |= {MCS_UL, MCS_DL}
        conf[sorted(rows), k] = GENERIC_LEVEL
    return conf


@dataclass(frozen=True)
class RuleBasedPolicy:
    """The rule ``clip(static_conf * traffic / scale, 0.15, 1)`` (see the module docstring).

    Attributes:
        conf: ``(7, K)`` static_conf.
        scale: ``(K,)`` traffic scale of each slice (UEs).
        name: label for reports.
    """

    conf: FloatArray
    scale: FloatArray
    name: str = "rule-based"

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> RuleBasedPolicy:
        """The testbed table on testbed-v0, the generalisation elsewhere."""
        testbed = scenario.name in TESTBED_SCENARIOS
        conf = original_conf(scenario) if testbed else generic_conf(scenario)
        return cls(conf=conf, scale=np.asarray(scenario.params.traffic.scale, dtype=np.float64))

    @property
    def n_slices(self) -> int:
        """Number of slices K."""
        return int(self.conf.shape[1])

    def allocation(self, load: FloatArray) -> FloatArray:
        """Allocations ``(n_envs, 7, K)`` for scale-normalised traffic ``load`` ``(n_envs, K)``."""
        x = np.asarray(load, dtype=np.float64)
        return np.clip(self.conf[None] * x[:, None, :], FLOOR, CEIL)

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """The rule on the last slot's active UEs (1.0 x scale in the first slot after a reset)."""
        kpis = ctx.observation.kpis
        if kpis is None:
            return self.allocation(np.ones((ctx.spaces.n_envs, self.n_slices)))
        return self.allocation(np.asarray(kpis.active_ues, dtype=np.float64) / self.scale)

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """The rule on the encoded observations ``(n_envs, 14 K + 2)``; flat resource-major actions."""
        o = np.asarray(obs, dtype=np.float64)
        idx = np.arange(self.n_slices) * N_SLICE_FEATURES + _ACTIVE_UES
        load = o[:, idx]
        load = np.where(load > 0.0, load, 1.0)
        return self.allocation(load).reshape(o.shape[0], -1)
