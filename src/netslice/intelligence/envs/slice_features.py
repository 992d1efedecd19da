"""The observation of one slice agent: what a policy shared by every slice sees of its own slice and network.

A policy shared by every slice (the same parameters for each slice agent, :mod:`.slice_agents`) must see an
observation whose length and meaning depend neither on the number of slices K nor on the slice's slot index.
:class:`SliceEncoder` builds it from the orchestrator's observation with the scenario-wide
:class:`~.features.Encoder` (the slice's block of 14 features) and adds what makes a slice recognisable (its
SLA targets, service kind and traffic size) and a summary of the network it competes in.

Observation of one slice (``float32``, :data:`N_AGENT_FEATURES` = 40 values):

=======  ======================  ==============================================================  ===========
index    name                    value                                                           bounds
=======  ======================  ==============================================================  ===========
0-13     (the slice block)       the slice's features of :mod:`.features` (KPIs, allocation in   as there
                                 force, cost); 0 for a slice that has not run a slot yet
14       ``sla_latency``         log1p(latency bound / 100 ms); no bound: 10 (the loosest)       [0, 10]
15       ``sla_latency_tail``    1 where the bound is on the tail latency, else 0                [0, 1]
16       ``sla_thp_dl``          log10(1 + guaranteed DL kbit/s / 1000) / 3; none: 0             [0, 2]
17       ``sla_thp_ul``          log10(1 + guaranteed UL kbit/s / 1000) / 3; none: 0             [0, 2]
18       ``sla_fps``             frame-rate target / 30; none: 0                                 [0, 4]
19       ``sla_loss``            log10(1 + 1e6 (1 - reliability target)) / 6; none: 1 (any)      [0, 7/6]
20-25    ``kind_<kind>``         one-hot service kind (:data:`KINDS` order)                      [0, 1]
26       ``scale_ues``           log10(1 + traffic scale in UEs) / 5                             [0, 2]
27       ``scale_dl``            log10(1 + reference DL kbit/s / 1000) / 4                       [0, 2]
28       ``scale_ul``            log10(1 + reference UL kbit/s / 1000) / 4                       [0, 2]
29-30    ``hour_sin/cos``        time features of the coming slot (:mod:`.features`)             [-1, 1]
31-37    ``others_<row>``        the other present slices' total allocation in force per row     [0, 16]
38       ``n_present``           number of present slices / 10                                   [0, 10]
39       ``present``             1: the slice is provisioned in the coming slot                  [0, 1]
=======  ======================  ==============================================================  ===========

The SLA features read the loosest value where a slice's kind has no such term (no latency bound reads the top
of the latency range; no reliability target reads an allowed loss of 1), so that "no term" and "an easy term" are
close. A slot without a provisioned slice reads all zeros (``present`` = 0). A slice that did not run the slot
just observed on its own decision (admitted since, or a new tenant of a slot another slice left) reads 0 in its
block (0-13): the KPIs of that slot are not its own; nothing of a slot's former tenant reaches the new one. The
other slices' totals count present slices only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from netslice.intelligence.envs.features import (
    ALLOC_START,
    FPS_SCALE,
    LATENCY_SCALE_MS,
    LOSS_RESOLUTION,
    N_SLICE_FEATURES,
    N_TIME_FEATURES,
    SLICE_FEATURES,
    SLICE_HIGH,
    SLICE_LOW,
    TIME_FEATURES,
    Encoder,
    Float32Array,
    FloatArray,
)
from netslice.network.allocation import N_RESOURCES, RESOURCES
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.schema import SliceSpec
from netslice.network.scenarios.sla import SlaTargets
from netslice.orchestration.agent_api import Observation

#: Service kinds a slice can have (the scenario schema's), the order of the one-hot kind features.
KINDS: tuple[str, ...] = tuple(get_args(SliceSpec.model_fields["kind"].annotation))
#: SLA features (module table), in order.
SLA_FEATURES: tuple[str, ...] = ("sla_latency", "sla_latency_tail", "sla_thp_dl", "sla_thp_ul", "sla_fps", "sla_loss")
SLA_LOW = np.zeros(len(SLA_FEATURES))
SLA_HIGH = np.array([10.0, 1.0, 2.0, 2.0, 4.0, 7.0 / 6.0])
#: Traffic-size features (module table), in order.
SCALE_FEATURES: tuple[str, ...] = ("scale_ues", "scale_dl", "scale_ul")
#: The features of a slice that do not change while it is provisioned: SLA, kind, traffic size.
STATIC_FEATURES: tuple[str, ...] = SLA_FEATURES + tuple(f"kind_{k}" for k in KINDS) + SCALE_FEATURES
N_STATIC_FEATURES = len(STATIC_FEATURES)
STATIC_LOW = np.zeros(N_STATIC_FEATURES)
STATIC_HIGH = np.concatenate([SLA_HIGH, np.ones(len(KINDS)), np.full(len(SCALE_FEATURES), 2.0)])
#: Upper bound of the other slices' total allocation per row, and the scale of the present-slice count.
OTHERS_HIGH = 16.0
COUNT_SCALE = 10.0
COUNT_HIGH = 10.0
#: Names of the agent observation's entries (module table).
AGENT_FEATURES: tuple[str, ...] = (
    *SLICE_FEATURES,
    *STATIC_FEATURES,
    *TIME_FEATURES,
    *(f"others_{r}" for r in RESOURCES),
    "n_present",
    "present",
)
N_AGENT_FEATURES = len(AGENT_FEATURES)
#: Index of the first static feature, of the others' totals, of the count and of the presence flag.
STATIC_START = N_SLICE_FEATURES
TIME_START = STATIC_START + N_STATIC_FEATURES
OTHERS_START = TIME_START + N_TIME_FEATURES
COUNT_INDEX = OTHERS_START + N_RESOURCES
PRESENT_INDEX = COUNT_INDEX + 1
#: The SLA features' neutral values (no such term).
NEUTRAL_LATENCY, NEUTRAL_LOSS = 10.0, 1.0


def sla_features(targets: SlaTargets) -> FloatArray:
    """``(K, 6)`` the SLA features of every slice (module table; the loosest value where a term is missing)."""
    lat = np.asarray(targets.latency_ms, dtype=np.float64)
    rel = np.asarray(targets.reliability, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        cols = [
            np.where(np.isnan(lat), NEUTRAL_LATENCY, np.log1p(np.maximum(lat, 0.0) / LATENCY_SCALE_MS)),
            np.asarray(targets.latency_tail, dtype=np.float64) * ~np.isnan(lat),
            _log_rate(targets.thp_dl_kbps, 3.0),
            _log_rate(targets.thp_ul_kbps, 3.0),
            np.nan_to_num(np.asarray(targets.fps, dtype=np.float64) / FPS_SCALE, nan=0.0),
            np.where(np.isnan(rel), NEUTRAL_LOSS, np.log10(1.0 + LOSS_RESOLUTION * np.clip(1.0 - rel, 0.0, 1.0)) / 6.0),
        ]
    out: FloatArray = np.clip(np.stack(cols, axis=-1), SLA_LOW, SLA_HIGH)
    return out


def _log_rate(kbps: FloatArray, decades: float) -> FloatArray:
    """log10(1 + rate / 1000 kbit/s) / ``decades``, 0 where the rate is NaN (no term) or not positive."""
    x = np.nan_to_num(np.asarray(kbps, dtype=np.float64), nan=0.0)
    out: FloatArray = np.log10(1.0 + np.maximum(x, 0.0) / 1e3) / decades
    return out


def agent_observations(
    slice_features: FloatArray, static: FloatArray, time: FloatArray, present: NDArray[np.bool_],
    fresh: NDArray[np.bool_] | None = None,
) -> Float32Array:  # fmt: skip
    """Every slot's agent observation ``(n_envs, K, N_AGENT_FEATURES)`` (the module table).

    Args:
        slice_features: ``(n_envs, K, 14)`` the slices' blocks of :mod:`.features`.
        static: ``(K, N_STATIC_FEATURES)`` SLA, kind and traffic-size features of each slot's slice.
        time: ``(n_envs, 2)`` time features of the coming slot.
        present: ``(K,)`` or ``(n_envs, K)`` slices provisioned in the coming slot.
        fresh: like ``present``: slices that did not run the observed slot (their block reads 0); None: none.
    """
    n_envs, k = slice_features.shape[:2]
    pres = np.broadcast_to(np.asarray(present, dtype=bool), (n_envs, k))
    valid = pres if fresh is None else pres & ~np.broadcast_to(np.asarray(fresh, dtype=bool), (n_envs, k))
    block = np.where(valid[:, :, None], slice_features, 0.0)
    alloc = block[:, :, ALLOC_START : ALLOC_START + N_RESOURCES]
    others = np.clip(alloc.sum(axis=1, keepdims=True) - alloc, 0.0, OTHERS_HIGH)
    count = np.minimum(pres.sum(axis=1, keepdims=True) / COUNT_SCALE, COUNT_HIGH)  # (n_envs, 1)
    out = np.zeros((n_envs, k, N_AGENT_FEATURES), dtype=np.float32)
    out[:, :, :STATIC_START] = block
    out[:, :, STATIC_START:TIME_START] = np.asarray(static)[None]
    out[:, :, TIME_START:OTHERS_START] = np.asarray(time)[:, None, :]
    out[:, :, OTHERS_START:COUNT_INDEX] = others
    out[:, :, COUNT_INDEX] = count
    out[:, :, PRESENT_INDEX] = 1.0
    out[~pres] = 0.0
    return out


@dataclass(frozen=True)
class SliceEncoder:
    """Agent observations of one scenario's slots (see the module docstring).

    Attributes:
        base: the scenario-wide encoder (slice blocks, time features, reward).
        kinds: ``(K,)`` the service kind of each slot.
        cost_names: the cost columns of the per-slice env: the service kinds of the scenario, in order of first
            appearance (one Lagrange multiplier per kind).
        kind_column: ``(K,)`` each slot's cost column (index into ``cost_names``).
        static: ``(K, N_STATIC_FEATURES)`` each slot's SLA, kind and traffic-size features.
    """

    base: Encoder
    kinds: tuple[str, ...]
    cost_names: tuple[str, ...]
    kind_column: NDArray[np.int64]
    static: FloatArray

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, base: Encoder | None = None, targets: SlaTargets | None = None
    ) -> SliceEncoder:
        """The encoder of a scenario's slots (``targets``: the SLA targets in force, default the scenario's)."""
        base = base or Encoder.from_scenario(scenario)
        kinds = tuple(s.kind for s in scenario.spec.slices)
        cost_names = tuple(dict.fromkeys(kinds))
        one_hot = np.array([[float(kind == k) for k in KINDS] for kind in kinds]).reshape(len(kinds), len(KINDS))
        scale = np.stack([
            np.log10(1.0 + np.maximum(base.ue_scale, 0.0)) / 5.0,
            _log_rate(base.ref_dl_kbps, 4.0),
            _log_rate(base.ref_ul_kbps, 4.0),
        ], axis=-1)  # fmt: skip
        tail = np.concatenate([one_hot, np.clip(scale, 0.0, 2.0)], axis=-1)
        sla = sla_features(targets if targets is not None else SlaTargets.from_spec(scenario.spec))
        return cls(
            base=base, kinds=kinds, cost_names=cost_names,
            kind_column=np.array([cost_names.index(k) for k in kinds], dtype=np.int64),
            static=np.concatenate([sla, tail], axis=-1),
        )  # fmt: skip

    def with_targets(self, targets: SlaTargets) -> SliceEncoder:
        """This encoder with the SLA features of ``targets`` (e.g. after a slice was admitted with its own profile)."""
        static = self.static.copy()
        static[:, : len(SLA_FEATURES)] = sla_features(targets)
        return SliceEncoder(self.base, self.kinds, self.cost_names, self.kind_column, static)

    @property
    def n_slices(self) -> int:
        """Number of slots K."""
        return len(self.kinds)

    @staticmethod
    def observation_space() -> spaces.Box:
        """Box of one agent observation (bounds of the module table; the same for every scenario)."""
        return spaces.Box(low=AGENT_LOW, high=AGENT_HIGH, dtype=np.float32)

    @staticmethod
    def action_space() -> spaces.Box:
        """Box of one agent action: its column of the allocation, [0, 1]^7 (rows in resource order)."""
        return spaces.Box(low=0.0, high=1.0, shape=(N_RESOURCES,), dtype=np.float32)

    def encode(
        self, obs: Observation, present: NDArray[np.bool_] | None = None, fresh: NDArray[np.bool_] | None = None
    ) -> Float32Array:
        """Agent observations ``(n_envs, K, N_AGENT_FEATURES)`` of an orchestrator observation.

        Args:
            obs: the orchestrator's observation.
            present: ``(K,)`` slices provisioned in the coming slot (default ``obs.active``).
            fresh: ``(K,)`` slices that did not run the observed slot (their block reads 0).
        """
        feats = self.base.slice_features(obs)
        time = self.base.time_features(obs.hour)
        return agent_observations(feats, self.static, time, obs.active if present is None else present, fresh)


AGENT_LOW = np.concatenate(
    [SLICE_LOW, STATIC_LOW, np.full(N_TIME_FEATURES, -1.0), np.zeros(N_RESOURCES), [0.0, 0.0]]
).astype(np.float32)
AGENT_HIGH = np.concatenate(
    [SLICE_HIGH, STATIC_HIGH, np.ones(N_TIME_FEATURES), np.full(N_RESOURCES, OTHERS_HIGH), [COUNT_HIGH, 1.0]]
).astype(np.float32)
