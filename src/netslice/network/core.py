"""Core network: one UPF per slice on a shared host; CPU share -> packet rate -> queueing delay.

The slice's UPF gets ``share_k`` of the host's vCPUs. One core processes ``pps_per_core``
packets/s, so the UPF is a G/G/c stage in packets (c = allocated cores when >= 1, else a single
slowed server, see :func:`netslice.network.queueing.cpu_servers`). Both directions share the UPF.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.queueing import StageOut, cpu_servers, open_stage

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CoreParams:
    """The core network's user plane.

    Attributes:
        cores: vCPUs of the UPF host shared by the slices' UPFs.
        pps_per_core: packets per second one vCPU forwards.
        processing_delay_s: fixed per-packet latency through the UPF (s).
        buffer_pkts: UPF queue per slice (packets).
    """

    cores: float
    pps_per_core: float
    processing_delay_s: float
    buffer_pkts: float


def core_step(
    params: CoreParams,
    share: FloatArray,
    offered_bits: FloatArray,
    pkt_bits: FloatArray,
    ca2: FloatArray,
    q0: FloatArray,
    slot_s: float,
) -> StageOut:
    """Serve one slot at every slice's UPF.

    Args:
        params: core parameters.
        share: ``(n_envs, n_slices)`` CPU share of the UPF host.
        offered_bits: ``(n_envs, n_slices)`` UL + DL load through the UPF (bit/s).
        pkt_bits: ``(n_slices,)`` packet size (bits).
        ca2: ``(n_slices,)`` arrival burstiness.
        q0: ``(n_envs, n_slices)`` backlog (packets).
        slot_s: slot length (s).

    Returns:
        The UPF stage outcome, arrays ``(n_envs, n_slices)``.
    """
    servers, speed = cpu_servers(share * params.cores)
    return open_stage(
        q0, offered_bits / pkt_bits, speed * params.pps_per_core, servers, ca2, 1.0, slot_s,
        params.buffer_pkts, params.processing_delay_s,
    )  # fmt: skip
