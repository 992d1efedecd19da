"""Observation encoder, reward and cost of the slicing environments: one documented layout.

Every environment (:mod:`.single`, :mod:`.vector`, :mod:`.parallel`) turns the orchestrator's
:class:`~netslice.orchestration.agent_api.Observation` into features with one
:class:`Encoder`, so that a policy trained on one env runs on the others.

Flat observation (``float32``), ``N_SLICE_FEATURES`` features per slice in slice order
(slice-major: slice k's block starts at ``k * N_SLICE_FEATURES``), then the time features:

=====  ====================  =================================================================  ===========
index  name                  value                                                              bounds
=====  ====================  =================================================================  ===========
0      ``active_ues``        last slot's mean active UEs / the slice's traffic scale            [0, 5]
1      ``offered_dl``        last slot's offered DL load / reference DL load (see below)        [0, 5]
2      ``offered_ul``        last slot's offered UL load / reference UL load                    [0, 5]
3      ``latency``           log1p(mean end-to-end latency / 100 ms)                            [0, 10]
4      ``rel_shortfall``     log10(1 + 1e6 * (1 - reliability)) / 6                             [0, 7/6]
5      ``fps``               delivered frames per second per UE / 30                            [0, 4]
6-12   ``alloc_<row>``       allocation in force, rows prb_ul ... edge_cpu (resource order)     [0, 1]
13     ``cost``              last slot's SLA cost of the slice, clipped                         [0, 1]
-2     ``hour_sin``          sin(2 pi hour / 24), hour of day of the coming slot                [-1, 1]
-1     ``hour_cos``          cos(2 pi hour / 24)                                                [-1, 1]
=====  ====================  =================================================================  ===========

The reference load of a direction is the slice's traffic scale times one UE's offered rate:
the open-loop per-UE rate, or for interactive (closed-loop) slices one transfer unit per
shortest possible cycle (application latency + edge work). A direction without demand reads 0.
Right after a reset the KPI features (0-5) and the cost are 0: no slot has run yet. Every value
is clipped to its bounds (non-finite KPIs, e.g. the latency of a starved slice, read as the bound).

Reward: ``r = -u``, minus the operator's objective (:class:`~netslice.orchestration.objective.Objective`:
``u = sum_d w_d usage_d / sum_d w_d``, the weighted mean over the domains (ran, tn, cn, edge) of the
allocated fraction of each domain; equal weights by default). Cost: ``info["cost"]``
is the per-slice SLA cost clipped to [0, 1], columns in slice order (:attr:`Spaces.slices`);
``info["cost_raw"]`` is the unclipped cost of the orchestrator.

Actions are flat vectors in [0, 1]^(7 K), resource-major: entry ``r * K + k`` is row ``r``
(prb_ul, prb_dl, mcs_ul, mcs_dl, tn_bw, cn_cpu, edge_cpu) of slice ``k``
(:func:`to_allocation` and :func:`flatten_allocation` convert).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from netslice.errors import InvalidAllocationError
from netslice.network.allocation import N_RESOURCES, RESOURCES, clip, has_nonfinite, read_only
from netslice.network.kernel import Kpis
from netslice.network.scenarios import Scenario
from netslice.orchestration.agent_api import Observation, StepResult
from netslice.orchestration.objective import Objective

FloatArray = NDArray[np.float64]
Float32Array = NDArray[np.float32]

#: Per-slice feature names, in order (see the module table).
SLICE_FEATURES: tuple[str, ...] = (
    "active_ues",
    "offered_dl",
    "offered_ul",
    "latency",
    "rel_shortfall",
    "fps",
    *(f"alloc_{r}" for r in RESOURCES),
    "cost",
)
N_SLICE_FEATURES = len(SLICE_FEATURES)
#: Number of KPI features (0-5), which precede the allocation features in a slice block.
N_KPI_FEATURES = SLICE_FEATURES.index(f"alloc_{RESOURCES[0]}")
#: Index of the first allocation feature and of the cost feature in a slice block.
ALLOC_START = SLICE_FEATURES.index(f"alloc_{RESOURCES[0]}")
COST_INDEX = SLICE_FEATURES.index("cost")
#: Time features appended after the slice blocks.
TIME_FEATURES: tuple[str, ...] = ("hour_sin", "hour_cos")
N_TIME_FEATURES = len(TIME_FEATURES)

#: Bounds of each per-slice feature (module table).
SLICE_LOW = np.zeros(N_SLICE_FEATURES)
SLICE_HIGH = np.array([5.0, 5.0, 5.0, 10.0, 7.0 / 6.0, 4.0, *([1.0] * N_RESOURCES), 1.0])
#: The same bounds shaped ``(N_SLICE_FEATURES, 1, 1)``, for the encoder's feature-major arrays.
_LOW_FM, _HIGH_FM = SLICE_LOW[:, None, None], SLICE_HIGH[:, None, None]
#: Hours of day the encoder remembers the single env's time features of (a day of 15-min slots is 96).
_TIME_MEMO_SIZE = 4096
#: The context of :meth:`Encoder._errstate` where no warning can occur (stateless: one instance serves every call).
_NO_ERRSTATE: AbstractContextManager[object] = nullcontext()
#: ``(N_SLICE_FEATURES, 1, 1)`` the features that read NaN as their upper bound (the KPI features and the cost).
_BOUNDED_NAN_FM = np.array([not ALLOC_START <= i < ALLOC_START + N_RESOURCES for i in range(N_SLICE_FEATURES)])[
    :, None, None
]
TIME_LOW = np.full(N_TIME_FEATURES, -1.0)
TIME_HIGH = np.full(N_TIME_FEATURES, 1.0)

#: Latency scale of the ``latency`` feature (ms), reliability-shortfall resolution, frame-rate scale.
LATENCY_SCALE_MS = 100.0
LOSS_RESOLUTION = 1e6
FPS_SCALE = 30.0

#: The encoder's scalars as read-only 0-d float64 arrays. A ufunc converts a Python float operand on every
#: call (a NEP 50 "weak" scalar), which costs about half of a call on one env's few values; with float64
#: operands (every KPI, cost and allocation array is float64) a 0-d float64 array gives the same result.
_ZERO, _ONE, _SIX = read_only(np.array(0.0)), read_only(np.array(1.0)), read_only(np.array(6.0))
_LATENCY_SCALE = read_only(np.array(LATENCY_SCALE_MS))
_LOSS_RESOLUTION = read_only(np.array(LOSS_RESOLUTION))
_FPS_SCALE = read_only(np.array(FPS_SCALE))


def to_allocation(action: object, n_envs: int, n_slices: int) -> FloatArray:
    """Reshape flat resource-major actions ``(n_envs, 7 K)`` into allocations ``(n_envs, 7, K)``.

    Raises:
        InvalidAllocationError: the action does not have ``n_envs * 7 * K`` entries.
    """
    flat = np.asarray(action, dtype=np.float64)
    if flat.size != n_envs * N_RESOURCES * n_slices:
        raise InvalidAllocationError(
            f"action: expected {n_envs} x {N_RESOURCES * n_slices} values (resource-major), got shape {flat.shape}"
        )
    return flat.reshape(n_envs, N_RESOURCES, n_slices)


def flatten_allocation(alloc: FloatArray) -> FloatArray:
    """Flatten allocations ``(n_envs, 7, K)`` into resource-major actions ``(n_envs, 7 K)``."""
    a = np.asarray(alloc, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def _bounded(
    x: FloatArray, low: float | FloatArray, high: float | FloatArray, out: FloatArray | None = None
) -> FloatArray:
    """Clip to finite [low, high]; NaN and +inf read as ``high``, -inf as ``low`` (bounds broadcast against ``x``).

    Clipping maps the infinities to the bounds already, so only NaN (which clipping keeps) is replaced:
    the result equals ``clip(nan_to_num(x, nan=high, posinf=high, neginf=low), low, high)`` at a fraction
    of ``nan_to_num``'s cost on small arrays. With ``out`` (``x`` itself allowed) the result is written there.
    """
    bounded: FloatArray = clip(x, low, high, out=out)
    if has_nonfinite(bounded):  # a NaN: clipped to finite bounds, nothing else is non-finite
        nan = np.isnan(bounded)
        if out is None:
            bounded = np.where(nan, high, bounded)
        else:
            np.copyto(bounded, high, where=nan)
    return bounded


@dataclass(frozen=True)
class Encoder:
    """Observation encoder, reward and cost of one scenario (see the module docstring).

    Attributes:
        slice_names: slice names, in slice order.
        ue_scale: ``(K,)`` traffic scale of each slice (peak active UEs).
        ref_dl_kbps: ``(K,)`` reference DL load (kbit/s), 0 where the slice has no DL demand.
        ref_ul_kbps: ``(K,)`` reference UL load (kbit/s), 0 where the slice has no UL demand.
        objective: the weighted usage the reward is minus of.
        include_kpis: also put the raw KPIs in ``info["kpis"]`` (``{field: array}``).
    """

    slice_names: tuple[str, ...]
    ue_scale: FloatArray
    ref_dl_kbps: FloatArray
    ref_ul_kbps: FloatArray
    objective: Objective
    include_kpis: bool = False

    @property
    def weights(self) -> FloatArray:
        """``(4,)`` normalised weight of each domain's usage in the reward (ran, tn, cn, edge)."""
        return self.objective.weights

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, weights: FloatArray | None = None, include_kpis: bool = False
    ) -> Encoder:
        """Build the encoder of a scenario.

        Args:
            scenario: the scenario (traffic scales and per-UE demand come from its card).
            weights: ``(4,)`` non-negative domain weights of the reward (default equal).
            include_kpis: add the raw KPIs to the info dicts.

        Raises:
            ConfigError: weights of the wrong shape, negative, non-finite or all zero.
        """
        p = scenario.params
        objective = Objective.create(weights)
        svc = p.service
        cycle_s = np.maximum(svc.app_latency_s + svc.edge_work_s, 1e-6)
        per_ue_bits = np.where(svc.interactive, svc.job_bits / cycle_s, p.per_ue_bits)  # (2, K) [UL, DL]
        ref_kbps = p.traffic.scale * per_ue_bits / 1e3
        return cls(
            slice_names=p.slice_names,
            ue_scale=np.asarray(p.traffic.scale, dtype=np.float64),
            ref_dl_kbps=ref_kbps[1],
            ref_ul_kbps=ref_kbps[0],
            objective=objective,
            include_kpis=include_kpis,
        )

    @cached_property
    def _ref_divisors(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(1, K)`` references of features 0-2 (UE scale, DL and UL load), 1 where a reference is 0."""
        ref = np.stack([self.ue_scale, self.ref_dl_kbps, self.ref_ul_kbps]).astype(np.float64)[:, None, :]
        out: FloatArray = np.where(ref > 0.0, ref, 1.0)
        return out[0], out[1], out[2]

    @cached_property
    def _one_env_bounds(self) -> tuple[FloatArray, FloatArray]:
        """The feature bounds shaped like one env's features ``(N_SLICE_FEATURES, 1, K)``.

        A ufunc broadcasting ``(N_SLICE_FEATURES, 1, 1)`` bounds costs three times one on equal shapes.
        """
        shape = (N_SLICE_FEATURES, 1, self.n_slices)
        return read_only(np.broadcast_to(_LOW_FM, shape).copy()), read_only(np.broadcast_to(_HIGH_FM, shape).copy())

    @cached_property
    def _quiet(self) -> bool:
        """Whether no KPI feature can raise a floating-point warning.

        The ratios to references >= 1 cannot overflow; the other features (and NaN or infinite KPIs
        anywhere) raise none. ``np.errstate`` costs as much as two of the features' ufuncs on one env.
        """
        return bool(np.all(np.concatenate(self._ref_divisors) >= 1.0))

    def _errstate(self) -> AbstractContextManager[object]:
        """Floating-point warnings of the KPI features off (a no-op context when they cannot occur)."""
        return _NO_ERRSTATE if self._quiet else np.errstate(divide="ignore", invalid="ignore", over="ignore")

    @cached_property
    def _ref_absent(self) -> NDArray[np.bool_] | None:
        """``(3, 1, K)`` where the reference of features 0-2 is 0 (the feature then reads 0); ``None`` if nowhere."""
        ref = np.stack([self.ue_scale, self.ref_dl_kbps, self.ref_ul_kbps]).astype(np.float64)[:, None, :]
        out: NDArray[np.bool_] = ~(ref > 0.0)
        return out if out.any() else None

    # ------------------------------------------------------------------------------------ layout

    @property
    def n_slices(self) -> int:
        """Number of slices K."""
        return len(self.slice_names)

    @property
    def n_features(self) -> int:
        """Length of the flat observation, ``N_SLICE_FEATURES * K + N_TIME_FEATURES``."""
        return N_SLICE_FEATURES * self.n_slices + N_TIME_FEATURES

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the flat observation's entries (``<slice>/<feature>``, then the time features)."""
        per_slice = tuple(f"{s}/{f}" for s in self.slice_names for f in SLICE_FEATURES)
        return per_slice + TIME_FEATURES

    def observation_space(self) -> spaces.Box:
        """Box of one flat observation (bounds of the module table)."""
        low = np.concatenate([np.tile(SLICE_LOW, self.n_slices), TIME_LOW]).astype(np.float32)
        high = np.concatenate([np.tile(SLICE_HIGH, self.n_slices), TIME_HIGH]).astype(np.float32)
        return spaces.Box(low=low, high=high, dtype=np.float32)

    def action_space(self) -> spaces.Box:
        """Box of one flat action, [0, 1]^(7 K), resource-major."""
        return spaces.Box(low=0.0, high=1.0, shape=(N_RESOURCES * self.n_slices,), dtype=np.float32)

    # ------------------------------------------------------------------------------------ encoding

    def slice_features(self, obs: Observation) -> FloatArray:
        """Per-slice features ``(n_envs, K, N_SLICE_FEATURES)`` (float64, clipped to their bounds)."""
        return np.ascontiguousarray(self._feature_major(obs).transpose(1, 2, 0))

    def time_features(self, hour: FloatArray) -> FloatArray:
        """Time features ``(n_envs, 2)``: sin and cos of the hour of day."""
        angle = 2.0 * np.pi * np.asarray(hour, dtype=np.float64) / 24.0
        return np.stack([np.sin(angle), np.cos(angle)], axis=-1)

    def encode(self, obs: Observation) -> Float32Array:
        """Flat observations ``(n_envs, n_features)`` in the layout of the module table."""
        return self._flat(self._feature_major(obs), obs.hour)

    def step_outputs(self, result: StepResult, env: int | None = None) -> tuple[Float32Array, dict[str, Any]]:
        """:meth:`encode` of the slot's observation and :meth:`info` of the slot, in one pass.

        The observation's cost feature is the info's clipped cost (the same clip): computed once when the
        observation carries the slot's cost array.
        """
        features = self._feature_major(result.observation)
        flat = self._flat(features, result.observation.hour)
        if result.observation.cost is result.cost:
            return flat, self._info(result, features[COST_INDEX], env)
        return flat, self.info(result, env)

    def _flat(self, features: FloatArray, hour_of_day: FloatArray) -> Float32Array:
        """The flat float32 observations of feature-major features and the hour of day of the coming slot."""
        n_envs, K = features.shape[1], features.shape[2]
        n_slice_values = K * N_SLICE_FEATURES
        flat = np.empty((n_envs, n_slice_values + N_TIME_FEATURES), dtype=np.float32)
        flat[:, :n_slice_values].reshape(n_envs, K, N_SLICE_FEATURES)[...] = features.transpose(1, 2, 0)
        hour = np.asarray(hour_of_day, dtype=np.float64)
        if n_envs == 1:  # one network: its few distinct hours of day, remembered (the same computation, once)
            key = float(hour[0])
            known = self._time_memo.get(key)
            if known is None:
                known = self._time_memo[key] = self._time_columns(hour)
                if len(self._time_memo) > _TIME_MEMO_SIZE:
                    self._time_memo.clear()
            flat[:, n_slice_values:] = known
        else:
            flat[:, n_slice_values:] = self._time_columns(hour)
        return flat

    def _time_columns(self, hour: FloatArray) -> Float32Array:
        """The time features of the flat observation ``(n_envs, 2)``, float32 (:meth:`time_features` rounded)."""
        angle = 2.0 * np.pi * hour / 24.0  # as in time_features
        out = np.empty((hour.shape[0], N_TIME_FEATURES), dtype=np.float32)
        # Computed in float64 and rounded into the float32 columns, as assigning np.sin(angle) would.
        np.sin(angle, out=out[:, 0])
        np.cos(angle, out=out[:, 1])
        return out

    @cached_property
    def _time_memo(self) -> dict[float, Float32Array]:
        """Hour of day -> the single env's time columns ``(1, 2)`` (at most :data:`_TIME_MEMO_SIZE` hours)."""
        return {}

    def _feature_major(self, obs: Observation) -> FloatArray:
        """The per-slice features feature-major, ``(N_SLICE_FEATURES, n_envs, K)``, clipped to their bounds.

        Feature-major, every feature is one contiguous block that the ufuncs write in place (no stacking).
        The raw KPI features and cost are written first and bounded together with the allocation in one
        clip; only the KPI and cost rows read NaN as their upper bound (as :func:`_bounded` does).
        """
        alloc = np.asarray(obs.allocation, dtype=np.float64)
        n_envs, K = alloc.shape[0], self.n_slices
        out = np.empty((N_SLICE_FEATURES, n_envs, K))
        if obs.kpis is not None:
            self._kpi_features(obs.kpis, out)
        else:
            out[:ALLOC_START] = 0.0
        out[ALLOC_START : ALLOC_START + N_RESOURCES] = alloc.transpose(1, 0, 2)
        out[COST_INDEX] = obs.cost
        low, high = self._one_env_bounds if n_envs == 1 else (_LOW_FM, _HIGH_FM)
        clip(out, low, high, out)
        if has_nonfinite(out):  # a NaN (clipping to finite bounds leaves nothing else): rare
            np.copyto(out, _HIGH_FM, where=np.isnan(out) & _BOUNDED_NAN_FM)
        return out

    def _kpi_features(self, kpis: Kpis, out: FloatArray) -> None:
        """Write the raw KPI features 0-5 into ``out[:6]`` (``out`` feature-major; :meth:`_feature_major` bounds them).

        Each feature is computed in place in its row, with the operations (and operand order) of the
        module table's formulas.
        """
        d_ues, d_dl, d_ul = self._ref_divisors
        ues, dl, ul, lat, rel, fps = out[:N_KPI_FEATURES]  # the rows, written in place (``out`` passed positionally)
        with self._errstate():
            np.divide(kpis.active_ues, d_ues, ues)
            np.divide(kpis.offered_dl_kbps, d_dl, dl)
            np.divide(kpis.offered_ul_kbps, d_ul, ul)
            np.maximum(kpis.latency_ms, _ZERO, out=lat)  # log1p(max(latency, 0) / scale)
            np.divide(lat, _LATENCY_SCALE, lat)
            np.log1p(lat, lat)
            np.subtract(_ONE, kpis.reliability, rel)  # log10(1 + resolution * clip(1 - rel, 0, 1)) / 6
            clip(rel, _ZERO, _ONE, rel)
            np.multiply(_LOSS_RESOLUTION, rel, rel)
            np.add(_ONE, rel, rel)
            np.log10(rel, rel)
            np.divide(rel, _SIX, rel)
            np.divide(kpis.fps, _FPS_SCALE, fps)
        if self._ref_absent is not None:
            np.copyto(out[:3], 0.0, where=self._ref_absent)  # a direction without demand reads 0

    # ------------------------------------------------------------------------------------ reward and cost

    def reward(self, usage: FloatArray) -> FloatArray:
        """Reward ``(n_envs,)``: minus the weighted mean domain usage (``usage`` is ``(n_envs, 4)``)."""
        out: FloatArray = -self.objective.usage(usage)
        return out

    def slice_reward(self, slice_usage: FloatArray) -> FloatArray:
        """Per-slice reward ``(n_envs, K)`` from ``slice_usage`` ``(n_envs, 4, K)``; sums to :meth:`reward`."""
        out: FloatArray = -self.objective.slice_usage(slice_usage)
        return out

    def info(self, result: StepResult, env: int | None = None) -> dict[str, Any]:
        """Step info: ``cost`` (clipped, ``(n_envs, K)``), ``cost_raw``, ``usage``, ``modified``.

        With ``include_kpis`` also ``kpis``: ``{field: (n_envs, K) array}`` of every per-slice KPI.

        Args:
            result: the slot's outcome.
            env: give only this env's entries (no leading axis; ``modified`` and the KPIs of shape
                ``(n_envs,)`` as Python scalars), as a single env reports them; ``cost`` is then a view of
                the batched clipped cost, whose ``[None]`` is the batched array again.
        """
        return self._info(result, _bounded(np.asarray(result.cost, dtype=np.float64), _ZERO, _ONE), env)

    def _info(self, result: StepResult, cost: FloatArray, env: int | None) -> dict[str, Any]:
        """:meth:`info` with the clipped cost ``cost`` ``(n_envs, K)`` already computed."""
        cost_raw = np.asarray(result.cost, dtype=np.float64)
        usage = np.asarray(result.usage, dtype=np.float64)
        modified = np.asarray(result.modified, dtype=bool)
        if env is None:
            info: dict[str, Any] = {
                "cost": cost,
                "cost_raw": cost_raw.copy(),
                "usage": usage.copy(),
                "modified": modified.copy(),
            }
        else:
            info = {
                "cost": cost[env],
                "cost_raw": cost_raw[env].copy(),
                "usage": usage[env].copy(),
                "modified": bool(modified[env]),
            }
        if self.include_kpis:
            kpis = kpi_dict(result.kpis)
            info["kpis"] = kpis if env is None else {name: _entry(value, env) for name, value in kpis.items()}
        return info


def _entry(value: FloatArray, env: int) -> Any:
    """Env ``env``'s entry of a batched array (a Python scalar where the array is ``(n_envs,)``)."""
    entry = value[env]
    return entry.item() if entry.ndim == 0 else entry


def kpi_dict(kpis: Kpis) -> dict[str, FloatArray]:
    """Every KPI field of a slot as ``{field: array}`` (leading axis n_envs; see :class:`Kpis` for shapes)."""
    return {name: np.array(getattr(kpis, name)) for name in Kpis.__dataclass_fields__}
