"""Rendering of one network's slot: text (``"ansi"``) and a small picture (``"rgb_array"``).

Both show the same things: the slot, the hour of day, the allocation in force (7 resource rows x K
slices, in [0, 1]), each slice's SLA cost of the last slot (0 = met) and the usage of the four
domains.

Picture layout (``uint8``, ``(H, W, 3)``, drawn with numpy, no plotting library):

* top: one group of K vertical bars per resource row (prb_ul ... edge_cpu), bar height = the
  slice's share, one colour per slice, grey baseline;
* middle: one square per slice, green when its SLA was met in the last slot, red (brighter with
  the cost) when violated;
* bottom: four horizontal bars, the usage of ran, tn, cn, edge (blue on grey).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network.allocation import DOMAINS, RESOURCES

FloatArray = NDArray[np.float64]
UInt8Array = NDArray[np.uint8]

#: Render modes every environment supports, and the frame rate declared in ``metadata``.
RENDER_MODES: tuple[str, ...] = ("ansi", "rgb_array")
RENDER_FPS = 4

BAR_W, BAR_H, GAP, PAD = 4, 48, 3, 4
SLA_H, USAGE_H = 8, 4
BACKGROUND = np.array([255, 255, 255], dtype=np.uint8)
BASELINE = np.array([200, 200, 200], dtype=np.uint8)
USAGE_FG = np.array([40, 90, 200], dtype=np.uint8)
MET = np.array([40, 170, 60], dtype=np.uint8)
#: Slice colours (cycled beyond 8 slices).
PALETTE = np.array(
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
     [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127]],
    dtype=np.uint8,
)  # fmt: skip


@dataclass(frozen=True)
class Frame:
    """What one network shows for one slot.

    Attributes:
        slot: slots run in the current episode.
        hour: hour of day of the coming slot.
        slices: slice names.
        allocation: ``(7, K)`` allocation in force.
        cost: ``(K,)`` last slot's SLA cost, clipped to [0, 1] (0 after a reset).
        usage: ``(4,)`` last slot's domain usage (ran, tn, cn, edge), zeros after a reset.
    """

    slot: int
    hour: float
    slices: tuple[str, ...]
    allocation: FloatArray
    cost: FloatArray
    usage: FloatArray


def ansi(frame: Frame) -> str:
    """The frame as text: a table of the allocation per slice, the SLA status and the domain usage."""
    width = max(8, *(len(s) for s in frame.slices))
    head = f"slot {frame.slot}  hour {frame.hour:5.2f}"
    cols = "".join(f"{s:>{width + 1}}" for s in frame.slices)
    lines = [head, f"{'':9}{cols}"]
    for r, name in enumerate(RESOURCES):
        row = "".join(f"{frame.allocation[r, k]:>{width + 1}.3f}" for k in range(len(frame.slices)))
        lines.append(f"{name:9}{row}")
    sla = "".join(f"{('met' if c <= 0.0 else f'x {c:.2f}'):>{width + 1}}" for c in frame.cost)
    lines.append(f"{'sla':9}{sla}")
    lines.append("usage    " + "  ".join(f"{d} {u:.3f}" for d, u in zip(DOMAINS, frame.usage, strict=True)))
    return "\n".join(lines) + "\n"


def image_shape(n_slices: int) -> tuple[int, int, int]:
    """``(H, W, 3)`` of the picture of a network with ``n_slices`` slices."""
    group_w = n_slices * BAR_W + GAP
    width = max(2 * PAD + len(RESOURCES) * group_w, 2 * PAD + n_slices * (SLA_H + GAP), 64)
    height = PAD + BAR_H + 1 + GAP + SLA_H + GAP + len(DOMAINS) * (USAGE_H + 1) + PAD
    return height, width, 3


def rgb_array(frame: Frame) -> UInt8Array:
    """The frame as a picture ``(H, W, 3)`` uint8 (layout in the module docstring)."""
    K = len(frame.slices)
    h, w, _ = image_shape(K)
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = BACKGROUND
    base = PAD + BAR_H  # row of the baseline
    img[base, PAD : w - PAD] = BASELINE
    alloc = np.clip(np.nan_to_num(np.asarray(frame.allocation, dtype=np.float64)), 0.0, 1.0)
    for r in range(len(RESOURCES)):
        for k in range(K):
            x = PAD + r * (K * BAR_W + GAP) + k * BAR_W
            top = base - round(float(alloc[r, k]) * BAR_H)
            img[top:base, x : x + BAR_W - 1] = PALETTE[k % len(PALETTE)]
    y = base + 1 + GAP
    cost = np.clip(np.nan_to_num(np.asarray(frame.cost, dtype=np.float64), nan=1.0), 0.0, 1.0)
    for k in range(K):
        x = PAD + k * (SLA_H + GAP)
        colour = MET if cost[k] <= 0.0 else np.array([140 + round(115 * cost[k]), 30, 30], dtype=np.uint8)
        img[y : y + SLA_H, x : x + SLA_H] = colour
    y += SLA_H + GAP
    usage = np.clip(np.nan_to_num(np.asarray(frame.usage, dtype=np.float64)), 0.0, 1.0)
    span = w - 2 * PAD
    for d in range(len(DOMAINS)):
        row = y + d * (USAGE_H + 1)
        img[row : row + USAGE_H, PAD : PAD + span] = BASELINE
        img[row : row + USAGE_H, PAD : PAD + round(float(usage[d]) * span)] = USAGE_FG
    return img


def render(frame: Frame, mode: str | None) -> str | UInt8Array | None:
    """Render ``frame`` in ``mode`` (``None``: nothing)."""
    if mode == "ansi":
        return ansi(frame)
    if mode == "rgb_array":
        return rgb_array(frame)
    return None


def observation_frame(obs: Any, i: int, slices: tuple[str, ...], usage: FloatArray) -> Frame:
    """The :class:`Frame` of env ``i`` of an orchestrator :class:`Observation`."""
    return Frame(
        slot=int(np.asarray(obs.episode_slot)[i]),
        hour=float(np.asarray(obs.hour)[i]),
        slices=tuple(slices),
        allocation=np.asarray(obs.allocation, dtype=np.float64)[i],
        cost=np.clip(np.nan_to_num(np.asarray(obs.cost, dtype=np.float64)[i], nan=1.0), 0.0, 1.0),
        usage=np.asarray(usage, dtype=np.float64),
    )


def render_observation(
    mode: str | None, obs: Any, i: int, slices: tuple[str, ...], usage: FloatArray
) -> str | UInt8Array | None:
    """Env ``i`` of the latest orchestrator observation ``obs`` in ``mode`` (``None`` without a mode).

    Raises:
        ResetNeeded: no observation yet (nothing to show before the first ``reset``).
    """
    if mode is None:
        return None
    if obs is None:
        raise ResetNeeded("render: call reset() first")
    return render(observation_frame(obs, i, slices, usage), mode)


def check_render_mode(render_mode: str | None) -> str | None:
    """Validate a ``render_mode`` argument.

    Raises:
        ConfigError: a mode other than ``None``, ``"ansi"`` or ``"rgb_array"``.
    """
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ConfigError(f"render_mode: must be None or one of {', '.join(map(repr, RENDER_MODES))}, "
                          f"got {render_mode!r}")  # fmt: skip
    return render_mode
