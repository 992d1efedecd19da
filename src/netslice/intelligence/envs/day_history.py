"""Day-history features: what the episode's measured traffic says about the day, appended to an agent's input.

A network's traffic is its slice's diurnal profile times a day factor and an AR(1) noise
(:mod:`netslice.network.traffic`: ``log N(t) = log(scale profile(h_t)) + L + x(t) + ...``). One slot's
observation shows the last slot's load, ``L + x``; telling the day factor ``L`` from the noise ``x`` takes the
day's history, and the coming slot's load, ``L + rho x``, depends on the split. The forecast planner
(:mod:`~netslice.intelligence.policies.forecast`) filters it out of every slot measured so far; an agent that
sees one slot cannot. :class:`DayHistory` gives the agent the day's summary, per slice ``k``, from the
observations alone (causal: only the measured active UEs and the operator's diurnal profile):

==================  ====================================================================================
``day_mean_k``      mean over the episode's measured slots of ``r = log(measured / (scale profile(h)))``
                    (the day factor's estimate; 0 before the first slot)
``day_last_k``      ``r`` of the last measured slot (0 before the first)
``day_slots_k``     measured slots of the slice in the episode / slots per episode
==================  ====================================================================================

``r`` is clipped to [-5, 5]. An observation whose active-UE features are all 0 starts an episode (the encoder's
reset observation, :mod:`.features`): its network's history is cleared. A slice whose feature is 0 (not
provisioned), or whose load sat at the traffic's lower clip (``min_fraction``: it says nothing of the day, as in
the forecast planner's filter), is left out of its means. The measured slot's hour is the coming slot's minus
one slot. A fourth feature, the profile at the coming slot's hour, was measured and left out: no better clone of
the forecast planner (seeds 0-4: usage +2.1 to +4.4 %, violations -1.2 to +0.6 points against the teacher's,
within the seeds' spread of these three).

Who uses it: PPO with ``PPOConfig.day_history`` (the rollout collector keeps one per network and saves it for an
exact resume; the trained :class:`~netslice.intelligence.agents.policy.PPOPolicy` keeps one while it acts) and
behaviour cloning of such an actor. Measured (``benchmarks/bc_day_history.py``): cloning the forecast planner
on testbed-v0 (60 days of demonstrations, 10-day evaluations) with these features, the clone's held-out action
error and its usage and violations against the teacher's are in ``benchmarks/results/bc_day_history.json``.

>>> import numpy as np
>>> from netslice.network.scenarios import load
>>> sc = load("testbed-v0")
>>> h = DayHistory.create(sc, n_envs=2)
>>> obs = np.zeros((2, 14 * 3 + 2)); obs[:, -1] = 1.0  # a reset observation at midnight
>>> h.features(obs).shape
(2, 53)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.envs.features import N_SLICE_FEATURES
from netslice.network.scenarios import Scenario
from netslice.network.traffic import diurnal_profile

FloatArray = NDArray[np.float64]

#: Features per slice (``day_mean``, ``day_last``, ``day_slots``).
PER_SLICE = 3
#: Bound of the log-ratio to the profile.
RATIO_BOUND = 5.0
#: Relative tolerance of "at the lower clip" (the observation is float32).
CLIP_TOLERANCE = 1e-6
#: Index of the active-UE feature in a slice's block (:mod:`.features`).
_ACTIVE = 0


def n_features(n_slices: int) -> int:
    """Features appended for ``n_slices`` slices."""
    return PER_SLICE * n_slices


@dataclass
class DayHistory:
    """The day-history features of ``n_envs`` networks (see the module docstring).

    Attributes:
        scale: ``(K,)`` each slice's traffic scale.
        harmonics: ``(K, 7)`` the diurnal profile's coefficients.
        profile_peak: ``(K,)`` the raw profile's daily maximum.
        slot_hours: hours per slot.
        min_fraction: the traffic's lower clip, as a fraction of ``scale`` (a load there says nothing of the day).
        total: ``(n_envs, K)`` sum of the measured log-ratios this episode.
        count: ``(n_envs, K)`` measured slots this episode.
        last: ``(n_envs, K)`` the last measured log-ratio.
    """

    scale: FloatArray
    harmonics: FloatArray
    profile_peak: FloatArray
    slot_hours: float
    min_fraction: float
    total: FloatArray
    count: FloatArray
    last: FloatArray

    @classmethod
    def create(cls, scenario: Scenario, n_envs: int) -> DayHistory:
        """Empty histories of ``n_envs`` networks of ``scenario``."""
        p = scenario.params.traffic
        spec = {"scale": p.scale, "harmonics": p.harmonics, "profile_peak": p.profile_peak,
                "slot_hours": 24.0 / scenario.spec.slots_per_episode, "min_fraction": p.min_fraction}  # fmt: skip
        return cls.from_spec(spec, n_envs)

    @property
    def n_envs(self) -> int:
        """Networks tracked."""
        return int(self.total.shape[0])

    def features(self, obs: NDArray[np.floating], update: bool = True) -> FloatArray:
        """``obs`` ``(n_envs, n)`` with the day-history features appended, ``(n_envs, n + 3 K)``.

        ``update``: record ``obs`` as the next measured slot of each network (else: the features as if it were,
        the histories unchanged, e.g. for a value bootstrap of an episode's final observation).

        Raises:
            ValueError: ``obs`` is not ``(n_envs, >= 14 K + 2)``.
        """
        o = np.asarray(obs, dtype=np.float64)
        k = self.scale.shape[0]
        if o.ndim != 2 or o.shape[0] != self.n_envs or o.shape[1] < N_SLICE_FEATURES * k + 2:
            raise ValueError(f"day history: observations {o.shape}, expected ({self.n_envs}, >= "
                             f"{N_SLICE_FEATURES * k + 2})")  # fmt: skip
        active = o[:, np.arange(k) * N_SLICE_FEATURES + _ACTIVE]
        fresh: NDArray[np.bool_] = np.asarray(~(active > 0.0).any(axis=1), dtype=bool)
        hour = np.mod(np.arctan2(o[:, -2], o[:, -1]) * 12.0 / np.pi - self.slot_hours, 24.0)
        shape = diurnal_profile(self.harmonics, hour) / self.profile_peak
        measured = (active > self.min_fraction * (1.0 + CLIP_TOLERANCE)) & (shape > 0.0)  # the clip says nothing
        expected = self.scale * np.maximum(shape, 1e-9)
        ratio = np.clip(np.log(np.maximum(active * self.scale, 1e-12) / expected), -RATIO_BOUND, RATIO_BOUND)
        keep = ~fresh[:, None]
        total = np.where(keep, self.total + np.where(measured, ratio, 0.0), 0.0)
        count = np.where(keep, self.count + measured, 0.0)
        last = np.where(keep, np.where(measured, ratio, self.last), 0.0)
        if update:
            self.total, self.count, self.last = total, count, last
        mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        per_day = 24.0 / self.slot_hours
        return np.concatenate([o, mean, last, count / per_day], axis=1)

    def episodes(self, observations: NDArray[np.floating]) -> FloatArray:
        """Features ``(E, T + 1, n + 3 K)`` of whole episodes ``(E, T + 1, n)``, each from its reset observation.

        ``E`` is :attr:`n_envs`; the histories end at the episodes' last observations.
        """
        o = np.asarray(observations)
        return np.stack([self.features(o[:, t]) for t in range(o.shape[1])], axis=1)

    def select(self, rows: NDArray[np.bool_]) -> DayHistory:
        """The histories of the networks ``rows`` (copies)."""
        return DayHistory(self.scale, self.harmonics, self.profile_peak, self.slot_hours, self.min_fraction,
                          self.total[rows].copy(), self.count[rows].copy(), self.last[rows].copy())  # fmt: skip

    def spec(self) -> dict[str, Any]:
        """What defines the features (the scenario's profile and slot length), as plain lists for a checkpoint."""
        return {"scale": self.scale.tolist(), "harmonics": self.harmonics.tolist(),
                "profile_peak": self.profile_peak.tolist(), "slot_hours": self.slot_hours,
                "min_fraction": self.min_fraction}  # fmt: skip

    @classmethod
    def from_spec(cls, spec: dict[str, Any], n_envs: int) -> DayHistory:
        """Empty histories of ``n_envs`` networks with the features of :meth:`spec`."""
        scale = np.asarray(spec["scale"], dtype=np.float64)
        zeros = [np.zeros((n_envs, scale.shape[0])) for _ in range(3)]
        return cls(scale, np.asarray(spec["harmonics"], dtype=np.float64),
                   np.asarray(spec["profile_peak"], dtype=np.float64), float(spec["slot_hours"]),
                   float(spec["min_fraction"]), *zeros)  # fmt: skip

    def state(self) -> dict[str, Any]:
        """The histories as plain lists (loads with ``torch.load(weights_only=True)``)."""
        return {"total": self.total.tolist(), "count": self.count.tolist(), "last": self.last.tolist()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state`.

        Raises:
            ValueError: the state is of another number of networks or slices.
        """
        arrays = {key: np.asarray(state[key], dtype=np.float64) for key in ("total", "count", "last")}
        for key, value in arrays.items():
            if value.shape != self.total.shape:
                raise ValueError(f"day history: {key} of shape {value.shape}, expected {self.total.shape}")
        self.total, self.count, self.last = arrays["total"], arrays["count"], arrays["last"]
