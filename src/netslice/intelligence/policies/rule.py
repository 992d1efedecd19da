"""The rule-based baseline: the original testbed's formula on testbed-v0, SLA dimensioning elsewhere.

testbed-v0: OnSlicing's ``baseline_policy`` (Q. Liu, N. Choi, T. Han, "OnSlicing: Online End-to-End
Network Slicing with Reinforcement Learning", ACM CoNEXT 2021; public testbed code
``liuqiangus/End-to-End-Slicing:system_multi.py``), bit for bit. It sets every knob of slice k to::

    a[m, k] = clip(static_conf[m, k] * traffic_k / TRAFFIC_SCALE_k, 0.15, 1)

with ``static_conf`` = 0.15 everywhere except MAR: UL PRB, TN BW, CPU = 0.4; video: DL RBG,
TN BW = 0.8; IoT: UL MCS, DL MCS = 0.4. The testbed's knobs map to our rows as UL PRB -> prb_ul,
DL RBG -> prb_dl, UL/DL max-MCS -> mcs_ul/mcs_dl, TN BW -> tn_bw, CPU (the slice's SPGW-U/edge
container) -> edge_cpu; the core CPU row ``cn_cpu`` keeps 0.15 for every slice. ``traffic_k /
TRAFFIC_SCALE_k`` is the slice's active UEs of the last slot over its traffic scale ([5, 2, 100]);
in the first slot after a reset the rule uses 1.0 (the peak). Over-capacity rows are left to the
orchestrator's proportional scaling, as in the testbed.

Every other scenario: an operator's conservative rule, a *dimensioning table* per slice computed once
from the scenario card (SLAs, network, traffic model), never from an agent or from evaluation results
(:mod:`.rule_table`). The operator's design risk :data:`~.rule_table.RISK` (0.5 % of slots) is split by
the union bound: half to the traffic, half to the channel, each evenly over the K slices.

1. **Ladder and fade tiers.** Loads ``level x scale_k``, levels ``min_fraction x LADDER_RATIO^i`` up to
   the design peak (3.). For each level and slice, the least-usage allocation (the oracle's search,
   :meth:`Oracle.search`) that meets the slice's SLA on the network model (steady state, empty queues)
   in four *design states*. A typical slot arranged at its worst: the ``n_cells`` quantiles
   ``(i + 1/2) / n_cells`` of the shadowing in each direction, the deeper in the slice's cells with the
   lower mean SINR. The same slot with one cell in a fade of ``z_fade x shadow_sigma_db``, in the UL,
   then in the DL, ``z_fade = Phi^-1(1 - RISK / 4K)`` (the fade budget over the two directions). The
   faded cell is the one whose fade costs the most PRBs (traffic share over the spectral efficiency at
   its mean SINR less the fade; the busiest cell unless its SINR is much higher), passing over cells
   the fade takes below CQI 1 (an outage no share fixes: on metro-v0, mMTC's 5.7 dB UL cell, which the
   clairvoyant oracle loses too, about 0.2 % of slots). The median slot (no shadowing). In the typical
   and the median slot the slot must also leave no backlog at any stage (a standing queue would grow
   over the slots such a slot lasts). A design state in which no allocation meets the SLA is not
   dimensioned for, nor is a backlog no allocation avoids; the MCS cap is the one meeting the SLA with
   every resource in the most design states. Levels below the first one whose SLA can be met (an SLA
   floor above the offered traffic) take that one's allocation, and the table is made monotone in the
   load. *Tiers*: tier 0 is the least allocation meeting the typical and median slots only (with the
   table's MCS caps), tier J = :data:`~.rule_table.N_TIERS` the table, and tier j in between the least
   step ``alpha`` from tier 0 towards tier J meeting a fade of ``j / J x z_fade``. Without shadowing,
   the median only (every tier the same).
2. **Traffic margin.** The coming slot's load is bounded by the measured one times ``g_k =
   profile_k(h_next) / profile_k(h_measured) x exp(z sd_k) x burst_k``: ``sd_k`` the standard deviation
   of the one-slot change of the log-noise, ``sigma sqrt(2 (1 - rho))`` (``sqrt(2 sigma^2 + 2
   sigma_day^2)`` at the first slot of a new episode, whose noise and day factor are fresh),
   ``burst_k`` the MMPP burst factor (an onset cannot be seen coming; 1 without bursts, and 1 when
   the measured load is above any load without a burst, the profile times the design peak's noise
   and day factor: bursts do not stack) and ``z = Phi^-1(1 - RISK / 2K)``.
3. **Design peak** (ladder top, and the design load of a slot with nothing measured): the profile's
   peak times ``exp(z sqrt(sigma_day^2 + sigma^2) - (sigma_day^2 + sigma^2) / 2) x burst_k``.
4. **Each slot.** Design load ``min(measured x g_k, peak)``, provisioned with the table's first level
   at or above it (rounding up). Where the slices' deepest tiers over-subscribe a node (a row, or an
   edge site; on metro-v0 the PRB rows in about 60 % of slots, because a share holds in every cell and
   a deep fade of one cell multiplies a slice's PRB need several times), every slice on the node gets
   the tier of one common fade depth, the deepest that fits (:func:`~.rule_table.depth_fit`; linear
   between tiers; tier 0 cut max-min fair if even it does not fit). Why: each slice's fade reserve
   covers an event of the same small probability, fades of different slices are independent, and a
   share partitions the cell; so the node spends its capacity on covering every slice down to the same
   depth, i.e. the same risk. Measured on metro-v0 (4 days x 16 networks, seed 1000): a max-min fair cut
   of the full levels makes the slices asking most (the URLLC and eMBB fade reserves) give way and they
   violate in a fade (0.62 %); giving tier 0 first and the reserves max-min after, 0.59 %; one common depth,
   0.37 % (0.21 % the outages above). Reacting to the last slot's mean CQI does not help: a slice's busiest
   cell carries about 20 % of its traffic, so the mean CQI correlates with that cell's coming shadowing at
   only about 0.3.

:class:`RuleBasedPolicy` implements both protocols: ``act_context`` reads the exact active UEs and hours
from the raw observation; ``act`` reads them from the encoded observation (feature ``active_ues`` of each
slice block, clipped to [0, 5] and float32, 0 meaning "not measured yet"; the hour from ``hour_sin``/
``hour_cos``), and cannot see an episode's first slot (it uses the continuing-noise margin there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.envs.features import N_SLICE_FEATURES, SLICE_FEATURES
from netslice.intelligence.policies.base import FloatArray, PolicyContext
from netslice.intelligence.policies.rule_cache import cached_dimension
from netslice.intelligence.policies.rule_table import Dimensioning
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
_ACTIVE_UES = SLICE_FEATURES.index("active_ues")


def original_conf(scenario: Scenario) -> FloatArray:
    """``static_conf`` ``(7, K)`` of the testbed table, slices matched by kind."""
    conf = np.full((N_RESOURCES, scenario.params.n_slices), FLOOR)
    for k, s in enumerate(scenario.spec.slices):
        for row, level in TESTBED_CONF.get(s.kind, {}).items():
            conf[row, k] = level
    return conf


@dataclass(frozen=True)
class RuleBasedPolicy:
    """The rule-based baseline (see the module docstring).

    Attributes:
        conf: ``(7, K)`` the testbed formula's static_conf (used when ``dimensioning`` is ``None``).
        scale: ``(K,)`` traffic scale of each slice (UEs).
        dimensioning: the dimensioning table of scenarios other than testbed-v0.
        name: label for reports.
    """

    conf: FloatArray
    scale: FloatArray
    dimensioning: Dimensioning | None = None
    name: str = "rule-based"

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> RuleBasedPolicy:
        """The testbed formula on testbed-v0, the dimensioning table elsewhere (kept on disk: :mod:`.rule_cache`)."""
        testbed = scenario.name in TESTBED_SCENARIOS
        return cls(
            conf=original_conf(scenario),
            scale=np.asarray(scenario.params.traffic.scale, dtype=np.float64),
            dimensioning=None if testbed else cached_dimension(scenario),
        )

    @property
    def n_slices(self) -> int:
        """Number of slices K."""
        return int(self.conf.shape[1])

    def allocation(
        self,
        load: FloatArray,
        hour: FloatArray | None = None,
        fresh: NDArray[np.bool_] | None = None,
        active: NDArray[np.bool_] | None = None,
    ) -> FloatArray:
        """Allocations ``(n_envs, 7, K)`` for scale-normalised measured traffic ``load`` ``(n_envs, K)``.

        Args:
            load: the last slot's active UEs over the scale; NaN where nothing was measured.
            hour: ``(n_envs,)`` hour of day of the coming slot (dimensioning only).
            fresh: ``(n_envs,)`` envs whose coming slot starts an episode (dimensioning only).
            active: ``(K,)`` provisioned slices (dimensioning only; default all): the others get nothing
                and take no part in sharing an over-subscribed node.
        """
        x = np.asarray(load, dtype=np.float64)
        dim = self.dimensioning
        if dim is None:
            return np.clip(self.conf[None] * np.nan_to_num(x, nan=1.0)[:, None, :], FLOOR, CEIL)
        n = x.shape[0]
        hour = np.zeros(n) if hour is None else hour
        fresh = np.zeros(n, dtype=bool) if fresh is None else fresh
        design = np.where(np.isnan(x), np.inf, x * dim.growth(hour, fresh, np.nan_to_num(x)))
        return dim.allocation(design, active)

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """The rule on the last slot's active UEs (the design peak in the first slot after a reset).

        A provisioned slice that had no UEs in the last slot (admitted since: slices that come and go) has
        nothing measured and is provisioned for its design peak too, as at a reset.
        """
        obs = ctx.observation
        active = np.asarray(obs.active, dtype=bool)
        if obs.kpis is None:
            return self.allocation(np.full((ctx.spaces.n_envs, self.n_slices), np.nan), obs.hour, active=active)
        load = np.asarray(obs.kpis.active_ues, dtype=np.float64) / self.scale
        load = np.where(load > 0.0, load, np.nan)  # a present slice always has UEs (the traffic floor)
        return self.allocation(load, obs.hour, obs.episode_slot == 0, active)

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """The rule on the encoded observations ``(n_envs, 14 K + 2)``; flat resource-major actions."""
        o = np.asarray(obs, dtype=np.float64)
        idx = np.arange(self.n_slices) * N_SLICE_FEATURES + _ACTIVE_UES
        load = o[:, idx]
        load = np.where(load > 0.0, load, np.nan)
        hour = np.mod(np.arctan2(o[:, -2], o[:, -1]) * 12.0 / np.pi, 24.0)
        return self.allocation(load, hour).reshape(o.shape[0], -1)
