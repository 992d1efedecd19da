"""Per-slice statistics of one measurement window, from the senders' and receivers' packet logs.

The logs (see :mod:`.traffic`) are int64 arrays: the sender's ``(n, 2)`` rows ``(seq, send_ns)``, the receiver's
``(m, 4)`` rows ``(seq, send_ns, recv_ns, payload_bytes)``. Times are ``CLOCK_MONOTONIC`` nanoseconds, read by the
sender just before ``sendto`` and by the receiver just after ``recv``.

One-way delay is ``recv_ns - send_ns``. That is valid only because sender and receiver run on the same machine:
network namespaces isolate the network stack, not the clocks, so every namespace reads the same
``CLOCK_MONOTONIC``. (Across machines, one-way delay would need synchronised clocks.) It includes the user-space
time of both ends (scheduling, the Python loop), which on a loaded machine adds tens of microseconds.

In a window ``[t0, t1)``:

* throughput: payload bits *received* in the window (by receive time) per second of window (UDP goodput; the
  HTB rate also counts the 42 bytes of Ethernet, IPv4 and UDP headers per packet, see :func:`goodput_factor`);
* delay percentiles: over the packets received in the window;
* loss: of the packets *sent* in the window (by send time), the fraction not received by the time the logs
  were collected (collect a little after ``t1``, so that packets still queued are not counted as lost).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

#: Bytes each UDP datagram carries on the shaped veth besides its payload: Ethernet II header (14), IPv4
#: header without options (20, RFC 791), UDP header (8, RFC 768). HTB counts them (the skb from the Ethernet
#: header on); the veth adds no preamble or FCS.
HEADER_BYTES = 14 + 20 + 8


def goodput_factor(payload_bytes: int) -> float:
    """Fraction of an HTB rate that is UDP payload, for datagrams of ``payload_bytes``."""
    return payload_bytes / (payload_bytes + HEADER_BYTES)


@dataclass(frozen=True)
class WindowStats:
    """One slice's KPIs over one window.

    Attributes:
        slice: the slice's name.
        start_s: the window's start, ``CLOCK_MONOTONIC`` seconds.
        duration_s: the window's length, s.
        sent: datagrams sent in the window.
        received: datagrams received in the window (by receive time).
        throughput_mbps: UDP payload received per second, Mbit/s.
        delay_p50_ms: median one-way delay, ms (NaN without packets).
        delay_p90_ms: 90th percentile, ms.
        delay_p99_ms: 99th percentile, ms.
        delay_mean_ms: mean, ms.
        loss: fraction of the datagrams sent in the window that were not received, in [0, 1].
    """

    slice: str
    start_s: float
    duration_s: float
    sent: int
    received: int
    throughput_mbps: float
    delay_p50_ms: float
    delay_p90_ms: float
    delay_p99_ms: float
    delay_mean_ms: float
    loss: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Plain data for JSON (NaN as None)."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(self).items()}


def window_stats(
    name: str, sent: NDArray[np.int64], received: NDArray[np.int64], t0_ns: int, t1_ns: int
) -> WindowStats:
    """KPIs of one slice in ``[t0_ns, t1_ns)`` from its logs (see the module docstring).

    Args:
        name: the slice's name.
        sent: the sender's ``(n, 2)`` log, rows ``(seq, send_ns)``.
        received: the receiver's ``(m, 4)`` log, rows ``(seq, send_ns, recv_ns, payload_bytes)``.
        t0_ns: window start, ``CLOCK_MONOTONIC`` ns.
        t1_ns: window end (excluded), ns; must be after ``t0_ns``.

    Example:
        >>> sent = np.array([[0, 0], [1, 500_000_000]], dtype=np.int64)
        >>> recv = np.array([[0, 0, 1_000_000, 1250]], dtype=np.int64)
        >>> s = window_stats("a", sent, recv, 0, 1_000_000_000)
        >>> s.throughput_mbps, s.delay_p50_ms, s.loss
        (0.01, 1.0, 0.5)
    """
    if t1_ns <= t0_ns:
        raise ValueError(f"empty window [{t0_ns}, {t1_ns})")
    duration = (t1_ns - t0_ns) / 1e9
    in_rx = (received[:, 2] >= t0_ns) & (received[:, 2] < t1_ns)
    delays = (received[in_rx, 2] - received[in_rx, 1]) / 1e6
    n_sent = int(np.count_nonzero((sent[:, 1] >= t0_ns) & (sent[:, 1] < t1_ns)))
    n_arrived = int(np.count_nonzero((received[:, 1] >= t0_ns) & (received[:, 1] < t1_ns)))
    if delays.size:
        p50, p90, p99 = (float(x) for x in np.percentile(delays, [50, 90, 99]))
        mean = float(delays.mean())
    else:
        p50 = p90 = p99 = mean = float("nan")
    return WindowStats(
        slice=name,
        start_s=t0_ns / 1e9,
        duration_s=duration,
        sent=n_sent,
        received=int(delays.size),
        throughput_mbps=float(received[in_rx, 3].sum()) * 8 / duration / 1e6,
        delay_p50_ms=p50,
        delay_p90_ms=p90,
        delay_p99_ms=p99,
        delay_mean_ms=mean,
        loss=max(0.0, 1.0 - n_arrived / n_sent) if n_sent else 0.0,
    )


def throughput_series(received: NDArray[np.int64], t0_ns: int, t1_ns: int, bin_ns: int) -> NDArray[np.float64]:
    """Received payload rate in consecutive bins of ``bin_ns`` from ``t0_ns`` to ``t1_ns``, Mbit/s."""
    edges = np.arange(t0_ns, t1_ns + 1, bin_ns, dtype=np.int64)
    counts, _ = np.histogram(received[:, 2], bins=edges, weights=received[:, 3].astype(np.float64))
    return np.asarray(counts * 8 / (bin_ns / 1e9) / 1e6, dtype=np.float64)
