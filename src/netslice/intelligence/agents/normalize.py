"""Running mean and variance of observations (parallel Welford update, Chan et al. 1979)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass
class RunningMeanStd:
    """Mean and variance of every feature over all batches seen.

    Attributes:
        mean: ``(n,)`` running mean.
        var: ``(n,)`` running variance.
        count: samples seen (starts at a tiny epsilon so the first update dominates).
        clip: normalised values are clipped to [-clip, clip].
    """

    mean: FloatArray
    var: FloatArray
    count: float = 1e-4
    clip: float = 10.0

    @classmethod
    def zeros(cls, n: int, clip: float = 10.0) -> RunningMeanStd:
        """Statistics of ``n`` features before any sample (mean 0, variance 1)."""
        return cls(mean=np.zeros(n), var=np.ones(n), clip=clip)

    def update(self, batch: FloatArray) -> None:
        """Merge the statistics of ``batch`` ``(b, n)``.

        >>> rms = RunningMeanStd.zeros(1)
        >>> rms.update(np.array([[1.0], [3.0]])); rms.update(np.array([[5.0]]))
        >>> round(float(rms.mean[0]), 3), round(float(rms.var[0]), 3)
        (3.0, 2.667)
        """
        b_mean, b_var, b_count = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta = b_mean - self.mean
        total = self.count + b_count
        self.mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        self.var = m2 / total
        self.count = total

    def normalize(self, x: FloatArray) -> FloatArray:
        """``(x - mean) / sqrt(var + 1e-8)``, clipped."""
        out: FloatArray = np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -self.clip, self.clip)
        return out

    def state_dict(self) -> dict[str, object]:
        """Plain data for checkpoints."""
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": self.count, "clip": self.clip}

    @classmethod
    def from_state_dict(cls, data: dict[str, object]) -> RunningMeanStd:
        """Inverse of :meth:`state_dict`."""
        return cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            var=np.asarray(data["var"], dtype=np.float64),
            count=float(data["count"]),  # type: ignore[arg-type]
            clip=float(data["clip"]),  # type: ignore[arg-type]
        )
