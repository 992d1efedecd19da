"""Slices that are present in a network, or not: an absent slice has no UEs and keeps no state.

A scenario declares every slice *slot* the infrastructure can carry; which of them carries a live
slice in each network changes at run time when slices arrive and leave (the orchestration layer's
lifecycle decides; :meth:`netslice.network.simulator.Simulator.set_presence` applies it here).

* An absent slice offers no load (:func:`mask_load`: its coming slot's active UEs are 0), so it has
  no traffic, fills no queue and uses nothing it is not given.
* A slice that leaves takes its backlog with it, and a slice that arrives starts with empty queues
  and a fresh draw of its traffic processes (:func:`renew`): AR(1) noise and burst state from their
  stationary laws and a new day factor, drawn with the simulator's generator in that order. No
  state of a departed slice leaks into the next slice admitted in the same slot.

The allocation in force of a changed slot is the orchestrator's business (its domain managers own
it); the shadowing belongs to the cells' radio environment and is kept.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from netslice.network.kernel import SimParams, SimState, hour_of
from netslice.network.traffic import init_traffic, load_of

BoolArray = NDArray[np.bool_]


def mask_load(state: SimState, present: BoolArray) -> SimState:
    """``state`` with the coming slot's load of absent slices set to 0 (the same state when all are present)."""
    if bool(present.all()):
        return state
    load = np.where(present, state.traffic.load, 0.0)
    return replace(state, traffic=replace(state.traffic, load=load))


def vacate(state: SimState, changed: BoolArray) -> SimState:
    """``state`` with every queue of the ``(n_envs, n_slices)`` pairs in ``changed`` emptied."""
    if not bool(changed.any()):
        return state
    ran = changed[:, None, None, :]  # q_ran: (n_envs, 2, n_cells, n_slices)
    tn = changed[:, None, :, None]  # q_tn: (n_envs, 2, n_slices, n_links)
    return replace(
        state,
        q_ran=np.where(ran, 0.0, state.q_ran),
        q_tn=np.where(tn, 0.0, state.q_tn),
        q_cn=np.where(changed, 0.0, state.q_cn),
        q_edge=np.where(changed, 0.0, state.q_edge),
    )


def renew(params: SimParams, state: SimState, arrived: BoolArray, rng: np.random.Generator) -> SimState:
    """``state`` with fresh traffic processes (noise, burst, day factor) for the pairs in ``arrived``.

    Draws one stationary traffic state for every env (the law of a new slice's first slot, see
    :func:`netslice.network.traffic.init_traffic`) and keeps its entries where ``arrived`` is true;
    the load of the coming slot follows from them.
    """
    if not bool(arrived.any()):
        return state
    hour = hour_of(params, state.t)
    fresh = init_traffic(params.traffic, hour, rng)
    old = state.traffic
    noise = np.where(arrived, fresh.noise, old.noise)
    burst = np.where(arrived, fresh.burst, old.burst)
    day = np.where(arrived, fresh.day, old.day)
    load = load_of(params.traffic, hour, noise, burst, day)
    traffic = replace(old, noise=noise, burst=burst, day=day, load=np.where(arrived, load, old.load))
    return replace(state, traffic=traffic)


def change_presence(
    params: SimParams, state: SimState, old: BoolArray, new: BoolArray, rng: np.random.Generator
) -> SimState:
    """The state of networks whose present slices change from ``old`` to ``new`` (both ``(n_envs, n_slices)``).

    Changed slots lose their queues (:func:`vacate`), arriving slices get fresh traffic (:func:`renew`),
    and absent slices offer no load (:func:`mask_load`).
    """
    changed = old != new
    state = renew(params, vacate(state, changed), changed & new, rng)
    return mask_load(state, new)
