"""RRMPolicyRatio semantics in the RAN domain: dedicated, prioritized and shared PRBs.

Per TS 28.541 clause 4.3.36 (reference/standards.md 1.1 and 7.3), each slice k has three quotas of
a resource (fractions here, percent in the NRM): dedicated d_k <= min m_k <= max M_k. In a slot

1. the slice holds d_k whatever it uses (dedicated PRBs are never returned);
2. it gets up to m_k with priority, but only as much as it needs (unused prioritized PRBs return to
   the pool);
3. the pool left over is shared among the slices that still need more, each up to M_k, in
   proportion to what they still need.

The share a slice ends with is what the simulator's RAN serves in that slot. An agent's share s_k
(the fast path) is the policy d = m = M = s_k, which this rule maps back to exactly s_k: one
logic for both views. A slice's need is estimated from the previous slot's measurements: the PRBs
it used, scaled up by offered / delivered traffic when it was short of PRBs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.kernel import Kpis

FloatArray = NDArray[np.float64]


def rrm_shares(ded: FloatArray, mn: FloatArray, mx: FloatArray, need: FloatArray) -> FloatArray:
    """Effective share of every slice (last axis) under RRMPolicyRatio quotas.

    Args:
        ded: dedicated fractions, ``(..., n_slices)``; sums to at most 1.
        mn: min (dedicated + prioritized) fractions; sums to at most 1.
        mx: max fractions.
        need: fraction of the resource each slice would use this slot.

    Returns:
        The effective shares, summing to at most 1.

    >>> r = rrm_shares(np.array([0.1, 0.0]), np.array([0.4, 0.3]), np.array([0.8, 0.5]), np.array([0.9, 0.1]))
    >>> r.round(3).tolist()  # slice 0: 0.4 guaranteed + all of the 0.5 pool up to its max 0.8; slice 1: its need
    [0.8, 0.1]
    """
    used = ded + np.maximum(np.minimum(need, mn) - ded, 0.0)
    pool = np.maximum(1.0 - used.sum(axis=-1, keepdims=True), 0.0)
    want = np.maximum(np.minimum(need, mx) - used, 0.0)
    total = want.sum(axis=-1, keepdims=True)
    grant = np.where(total > pool, want * pool / np.maximum(total, 1e-300), want)
    out: FloatArray = used + grant
    return out


@dataclass
class RrmState:
    """RRMPolicyRatio quotas of every slice, per env and direction ``(n_envs, 2, n_slices)`` ([UL, DL]).

    Attributes:
        ded: dedicated fractions.
        mn: min fractions.
        mx: max fractions.
        need: estimated need from the last slot (starts at ``mx``: the first slot may use its max).
    """

    ded: FloatArray
    mn: FloatArray
    mx: FloatArray
    need: FloatArray

    @classmethod
    def from_shares(cls, shares: FloatArray) -> RrmState:
        """The policies d = m = M = share (the fast path's meaning of a share)."""
        s = np.array(shares, dtype=np.float64, copy=True)
        return cls(ded=s, mn=s.copy(), mx=s.copy(), need=s.copy())

    def set_shares(self, shares: FloatArray) -> None:
        """Replace every policy by d = m = M = share."""
        self.ded = np.array(shares, dtype=np.float64, copy=True)
        self.mn = self.ded.copy()
        self.mx = self.ded.copy()

    def copy(self) -> RrmState:
        """An independent copy (to restore after a failed enforcement)."""
        return RrmState(self.ded.copy(), self.mn.copy(), self.mx.copy(), self.need.copy())

    def reset_envs(self, shares: FloatArray, envs: NDArray[np.bool_]) -> None:
        """Policies d = m = M = ``shares`` in the envs ``envs`` (new episodes)."""
        for name in ("ded", "mn", "mx", "need"):
            arr = getattr(self, name).copy()
            arr[envs] = shares[envs]
            setattr(self, name, arr)

    def set_policy(self, direction: int, k: int, ded: float, mn: float, mx: float) -> None:
        """Set slice ``k``'s quotas in one direction, in every env.

        Raises:
            ValueError: unless 0 <= ded <= mn <= mx <= 1 and the cell's dedicated and min sums stay <= 1.
        """
        if not 0.0 <= ded <= mn <= mx <= 1.0:
            raise ValueError(f"rRMPolicy ratios: need 0 <= dedicated <= min <= max <= 100, got {ded}, {mn}, {mx}")
        new_ded, new_mn = self.ded.copy(), self.mn.copy()
        new_ded[:, direction, k], new_mn[:, direction, k] = ded, mn
        for name, arr in (("rRMPolicyDedicatedRatio", new_ded), ("rRMPolicyMinRatio", new_mn)):
            total = float(arr[:, direction].sum(axis=-1).max())
            if total > 1.0 + 1e-9:
                raise ValueError(f"{name}: the cell's policies would sum to {100 * total:.1f} % > 100 %")
        self.ded, self.mn = new_ded, new_mn
        self.mx[:, direction, k] = mx

    def update_need(self, kpis: Kpis) -> None:
        """Estimate each slice's need from a slot's PRB use and delivered vs offered traffic."""
        n_envs, n_slices = kpis.prb_used_ul.shape
        both = np.empty((3, n_envs, 2, n_slices))  # used, offered, delivered; [UL, DL] on axis 2
        both[0, :, 0], both[0, :, 1] = kpis.prb_used_ul, kpis.prb_used_dl
        both[1, :, 0], both[1, :, 1] = kpis.offered_ul_kbps, kpis.offered_dl_kbps
        both[2, :, 0], both[2, :, 1] = kpis.thp_ul_kbps, kpis.thp_dl_kbps
        used, offered, delivered = both[0] / 100.0, both[1], both[2]  # (E, 2, K)
        short = np.where(delivered > 0.0, offered / np.maximum(delivered, 1e-300), 1.0)
        self.need = np.minimum(used * np.maximum(short, 1.0), 1.0)

    def shares(self) -> FloatArray:
        """Effective PRB shares ``(n_envs, 2, n_slices)`` under the current policies and need."""
        return rrm_shares(self.ded, self.mn, self.mx, self.need)
