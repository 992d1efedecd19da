"""RRMPolicyRatio semantics in the RAN domain: dedicated, prioritized and shared PRBs.

Per 3GPP TS 28.541 clause 4.3.36 (RRMPolicyRatio) and clause 5.3.43 (its attributes), each slice k has
three quotas of a resource (fractions here, percent in the NRM): dedicated d_k <= min m_k <= max M_k.
In a slot

1. the slice holds d_k whatever it uses (dedicated PRBs are never returned);
2. it gets up to m_k with priority, but only as much as it needs (unused prioritized PRBs return to
   the pool);
3. the pool left over is shared among the slices that still need more, each up to M_k, in
   proportion to what they still need.

The share a slice ends with is what the simulator's RAN serves in that slot. An agent's share s_k
(the fast path) is the policy d = m = M = s_k, which this rule maps back to exactly s_k: one
logic for both views. A slice's need is estimated from the previous slot's measurements: the PRBs
it used, scaled up by offered / delivered traffic when it was short of PRBs.

:class:`RrmState` is immutable (frozen, read-only arrays): every change returns a new state, so the
RAN domain manager (:mod:`netslice.orchestration.domains`), its one owner, replaces it as a whole and
nothing else can change it behind its back.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from netslice.network.allocation import read_only
from netslice.network.kernel import Kpis
from netslice.orchestration.capacity import make_room

FloatArray = NDArray[np.float64]


def rrm_shares(dedicated: FloatArray, minimum: FloatArray, maximum: FloatArray, need: FloatArray) -> FloatArray:
    """Effective share of every slice (last axis) under RRMPolicyRatio quotas.

    Args:
        dedicated: dedicated fractions, ``(..., n_slices)``; sums to at most 1.
        minimum: min (dedicated + prioritized) fractions; sums to at most 1.
        maximum: max fractions.
        need: fraction of the resource each slice would use this slot.

    Returns:
        The effective shares, summing to at most 1.

    >>> r = rrm_shares(np.array([0.1, 0.0]), np.array([0.4, 0.3]), np.array([0.8, 0.5]), np.array([0.9, 0.1]))
    >>> r.round(3).tolist()  # slice 0: 0.4 guaranteed + all of the 0.5 pool up to its max 0.8; slice 1: its need
    [0.8, 0.1]
    """
    used = dedicated + np.maximum(np.minimum(need, minimum) - dedicated, 0.0)
    pool = np.maximum(1.0 - used.sum(axis=-1, keepdims=True), 0.0)
    want = np.maximum(np.minimum(need, maximum) - used, 0.0)
    total = want.sum(axis=-1, keepdims=True)
    grant = np.where(total > pool, want * pool / np.maximum(total, 1e-300), want)
    out: FloatArray = used + grant
    return out


def _frozen(array: FloatArray) -> FloatArray:
    """``array`` as a read-only float64 array of its own (copied unless it already is one)."""
    out = np.asarray(array, dtype=np.float64)
    if out.flags.writeable or out.base is not None:
        return read_only(out.copy())
    return out


@dataclass(frozen=True)
class RrmState:
    """RRMPolicyRatio quotas of every slice, per env and direction ``(n_envs, 2, n_slices)`` ([UL, DL]).

    Immutable: the arrays are read-only and every method returns a new state.

    Attributes:
        dedicated: rRMPolicyDedicatedRatio as fractions.
        minimum: rRMPolicyMinRatio as fractions.
        maximum: rRMPolicyMaxRatio as fractions.
        need: estimated need from the last slot (starts at the share: the first slot may use it).
    """

    dedicated: FloatArray
    minimum: FloatArray
    maximum: FloatArray
    need: FloatArray

    def __post_init__(self) -> None:
        for name in _FIELDS:
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @classmethod
    def _of_own(cls, dedicated: FloatArray, minimum: FloatArray, maximum: FloatArray, need: FloatArray) -> RrmState:
        """A state of read-only arrays whose memory nothing writes, built without ``__post_init__`` (no copies).

        ``__post_init__`` would keep such arrays as they are when they own their data; skipping it matters on the
        hot path.
        """
        state = object.__new__(cls)
        vars(state).update(dedicated=dedicated, minimum=minimum, maximum=maximum, need=need)  # the fields, frozen
        return state

    @classmethod
    def from_shares(cls, shares: FloatArray) -> RrmState:
        """The policies d = m = M = share (the fast path's meaning of a share), need = share."""
        s = read_only(np.array(shares, dtype=np.float64, copy=True))
        return cls(dedicated=s, minimum=s, maximum=s, need=s)

    def with_shares(self, shares: FloatArray, *, frozen: bool = False) -> RrmState:
        """Every policy replaced by d = m = M = ``shares`` (the need is kept).

        Args:
            shares: ``(n_envs, 2, n_slices)`` the shares.
            frozen: ``shares`` is a read-only float64 array whose memory nothing writes (a view of an allocation
                in force): kept as it is instead of copied.
        """
        s = shares if frozen else read_only(np.array(shares, dtype=np.float64, copy=True))
        return RrmState._of_own(s, s, s, self.need)

    def reset_envs(self, shares: FloatArray, envs: NDArray[np.bool_] | slice) -> RrmState:
        """Policies and need d = m = M = need = ``shares`` in the envs ``envs`` (a mask or a slice; new episodes)."""
        if isinstance(envs, slice) and envs == slice(None):  # every env: nothing is kept
            return RrmState.from_shares(shares)

        def put(arr: FloatArray) -> FloatArray:
            out = arr.copy()
            out[envs] = shares[envs]
            return read_only(out)

        return RrmState(put(self.dedicated), put(self.minimum), put(self.maximum), put(self.need))

    def with_policy(self, direction: int, k: int, dedicated: float, minimum: float, maximum: float) -> RrmState:
        """Slice ``k``'s quotas set in one direction, in every env.

        Raises:
            ValueError: unless 0 <= dedicated <= min <= max <= 1 and the cell's dedicated and min sums
                stay <= 1 (TS 28.541 clause 5.3.43: the sums over a cell's policies are at most 100 %).
        """
        if not 0.0 <= dedicated <= minimum <= maximum <= 1.0:
            raise ValueError(
                f"rRMPolicy ratios: need 0 <= dedicated <= min <= max <= 100, got {dedicated}, {minimum}, {maximum}"
            )
        new_ded, new_min, new_max = self.dedicated.copy(), self.minimum.copy(), self.maximum.copy()
        new_ded[:, direction, k], new_min[:, direction, k] = dedicated, minimum
        for name, arr in (("rRMPolicyDedicatedRatio", new_ded), ("rRMPolicyMinRatio", new_min)):
            total = float(arr[:, direction].sum(axis=-1).max())
            if total > 1.0 + 1e-9:
                raise ValueError(f"{name}: the cell's policies would sum to {100 * total:.1f} % > 100 %")
        new_max[:, direction, k] = maximum
        return RrmState(read_only(new_ded), read_only(new_min), read_only(new_max), self.need)

    def released(self, k: int) -> RrmState:
        """Slice ``k`` with quotas 0/0/0 and need 0 (a terminated slice)."""

        def zero(arr: FloatArray) -> FloatArray:
            out = arr.copy()
            out[:, :, k] = 0.0
            return read_only(out)

        return RrmState(zero(self.dedicated), zero(self.minimum), zero(self.maximum), zero(self.need))

    def reserved(self, k: int, reservation: FloatArray, floor: FloatArray) -> RrmState:
        """Slice ``k`` raised to at least its admitted PRB ``reservation`` ``(2,)`` ([UL, DL] shares).

        Per direction: dedicated = max(dedicated, reservation), min = max(min, dedicated),
        max = max(max, min), need = max(need, min) (so the first slot uses the guarantee). The other
        slices give up what their dedicated and min quotas hold above ``floor`` ``(2, n_slices)`` (their
        own reservations; see :func:`~netslice.orchestration.capacity.make_room`), so the cell's sums
        stay within 1.
        """
        new_ded, new_min = self.dedicated.copy(), self.minimum.copy()
        new_max, new_need = self.maximum.copy(), self.need.copy()
        cell = np.zeros(new_ded.shape[-1], dtype=np.int64)  # every slice shares the cell's PRBs
        for d in range(2):
            ded = np.maximum(self.dedicated[:, d, k], reservation[d])
            mn = np.maximum(self.minimum[:, d, k], ded)
            new_ded[:, d, :] = make_room(self.dedicated[:, d, :], k, ded, floor[d], cell)
            new_min[:, d, :] = make_room(self.minimum[:, d, :], k, mn, floor[d], cell)
            new_ded[:, d, :] = np.minimum(new_ded[:, d, :], new_min[:, d, :])
            new_max[:, d, k] = np.maximum(self.maximum[:, d, k], mn)
            new_need[:, d, k] = np.maximum(self.need[:, d, k], mn)
        return RrmState(read_only(new_ded), read_only(new_min), read_only(new_max), read_only(new_need))

    def with_need_from(self, kpis: Kpis) -> RrmState:
        """The need of each slice estimated from a slot's PRB use and delivered vs offered traffic."""
        return self.with_need_of(measurements(kpis))

    def with_need_of(self, measured: FloatArray) -> RrmState:
        """The need of each slice estimated from a slot's :func:`measurements` (the rule of :meth:`with_need_from`)."""
        used, offered, delivered = measured[:, 0], measured[:, 1], measured[:, 2]  # (E, 2, K)
        # need = min(used / 100 * max(short, 1), 1), short = offered / delivered (1 where nothing was delivered);
        # computed in place, operation by operation.
        ratio = np.maximum(delivered, 1e-300)
        np.divide(offered, ratio, out=ratio)
        short = np.where(delivered > 0.0, ratio, 1.0)
        np.maximum(short, 1.0, out=short)
        need = np.divide(used, 100.0)
        np.multiply(need, short, out=need)
        np.minimum(need, 1.0, out=need)
        return RrmState._of_own(self.dedicated, self.minimum, self.maximum, read_only(need))

    def shares(self) -> FloatArray:
        """Effective PRB shares ``(n_envs, 2, n_slices)`` under the current policies and need."""
        return rrm_shares(self.dedicated, self.minimum, self.maximum, self.need)


def measurements(kpis: Kpis) -> FloatArray:
    """What the need estimate reads of a slot, gathered in one copy: ``(n_envs, 3, 2, n_slices)``.

    Axis 1: PRBs used (percent), offered and delivered traffic (kbit/s); axis 2: [UL, DL].
    """
    n_envs, n_slices = kpis.prb_used_ul.shape
    gathered: FloatArray = np.concatenate(
        (kpis.prb_used_ul, kpis.prb_used_dl, kpis.offered_ul_kbps, kpis.offered_dl_kbps, kpis.thp_ul_kbps,
         kpis.thp_dl_kbps), axis=-1,
    ).reshape(n_envs, 3, 2, n_slices)  # fmt: skip
    return gathered


#: The fields of :class:`RrmState`, in order (looked up once).
_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RrmState))
