"""The vectorised step against the scalar reference, and the Simulator wrapper.

``fused_kernel`` is the same slot written element by element (plain loops over envs, slices, cells
and links). Interpreted by Python it is the slow, readable scalar reference; compiled by numba it
is the fast backend. Both must match the vectorised numpy step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from netslice.errors import ConfigError, InvalidAllocationError
from netslice.network import fused, scenarios
from netslice.network.allocation import N_RESOURCES, SHARE_ROWS
from netslice.network.kernel import Kpis, SimParams, SimState, reset, step
from netslice.network.simulator import Simulator

RTOL = 1e-9


def _random_allocations(params: SimParams, n_envs: int, n_steps: int, seed: int) -> list[np.ndarray]:
    """Valid allocations: Dirichlet shares below capacity, random MCS knobs, every 4th the initial one."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n_steps):
        if t % 4 == 0:
            out.append(np.broadcast_to(params.initial_allocation, (n_envs, *params.initial_allocation.shape)).copy())
            continue
        a = rng.dirichlet(np.ones(params.n_slices + 1), size=(n_envs, N_RESOURCES))[..., :-1]
        a[:, 2:4] = rng.random((n_envs, 2, params.n_slices))
        out.append(a)
    return out


def _assert_same(a: Kpis | SimState, b: Kpis | SimState, what: str) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            _assert_same(x, y, f"{what}.{f.name}")
        else:
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=1e-12, err_msg=f"{what}.{f.name}")


@pytest.mark.skipif(not fused.available(), reason="numba not installed (extra 'fast')")
@pytest.mark.parametrize("name", scenarios.available())
def test_compiled_kernel_matches_the_vectorised_step(name: str) -> None:
    params = scenarios.load(name).params
    n_envs = 2 if params.ran.n_cells > 100 else 8
    packed = fused.pack(params)
    state_v = state_f = reset(params, n_envs, np.random.default_rng(0))
    rng_v, rng_f = np.random.default_rng(1), np.random.default_rng(1)
    for t, alloc in enumerate(_random_allocations(params, n_envs, 12, seed=2)):
        state_v, kpis_v = step(params, state_v, alloc, rng_v)
        state_f, kpis_f = fused.fused_step(packed, state_f, alloc, rng_f)
        _assert_same(kpis_v, kpis_f, f"{name} slot {t} kpis")
        _assert_same(state_v, state_f, f"{name} slot {t} state")


REFERENCE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from netslice.network import fused, fused_kernel, scenarios
    from netslice.network.kernel import reset
    params = scenarios.load(sys.argv[1]).params
    allocs = np.asarray(json.loads(sys.stdin.read()))
    packed = fused.pack(params)
    state = reset(params, allocs.shape[1], np.random.default_rng(0))
    rng = np.random.default_rng(1)
    rows = []
    for alloc in allocs:
        state, kpis = fused.fused_step(packed, state, alloc, rng)
        rows.append({"latency_ms": kpis.latency_ms.tolist(), "latency_tail_ms": kpis.latency_tail_ms.tolist(),
                     "thp_dl_kbps": kpis.thp_dl_kbps.tolist(), "thp_ul_kbps": kpis.thp_ul_kbps.tolist(),
                     "reliability": kpis.reliability.tolist(), "fps": kpis.fps.tolist(),
                     "prb_used_ul": kpis.prb_used_ul.tolist(), "cpu_load_edge": kpis.cpu_load_edge.tolist(),
                     "prb_load_peak_dl": kpis.prb_load_peak_dl.tolist(),
                     "usage": kpis.usage.tolist(), "q_ran": state.q_ran.tolist(), "load": state.traffic.load.tolist(),
                     "compiled": hasattr(fused_kernel.step_envs, "py_func")})
    print(json.dumps(rows))
    """
)


@pytest.mark.parametrize("name", ["testbed-v0", "metro-v0"])
def test_interpreted_scalar_reference_matches_the_vectorised_step(name: str) -> None:
    """Run the kernel as plain Python (NUMBA_DISABLE_JIT=1) in a subprocess: the scalar reference."""
    params = scenarios.load(name).params
    allocs = _random_allocations(params, 3, 6, seed=3)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", REFERENCE_SCRIPT, name],
        input=json.dumps([a.tolist() for a in allocs]),
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    rows = json.loads(proc.stdout)
    state = reset(params, 3, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for t, (alloc, row) in enumerate(zip(allocs, rows, strict=True)):
        assert row.pop("compiled") is False, "the reference must run interpreted"
        state, kpis = step(params, state, alloc, rng)
        for key, value in row.items():
            ours = getattr(state, key) if key == "q_ran" else getattr(kpis, key, None)
            if key == "load":
                ours = state.traffic.load
            np.testing.assert_allclose(np.asarray(value), ours, rtol=RTOL, atol=1e-12, err_msg=f"slot {t} {key}")


# ------------------------------------------------------------------------------------------ Simulator


@pytest.mark.parametrize("backend", ["numpy", "fused"] if fused.available() else ["numpy"])
def test_simulator_same_seed_same_run_different_seed_different_run(testbed: scenarios.Scenario, backend: str) -> None:
    def run(seed: int) -> np.ndarray:
        sim = Simulator(testbed.params, n_envs=4, seed=seed, backend=backend)
        return np.stack([sim.step(testbed.params.initial_allocation).latency_ms for _ in range(6)])

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.allclose(run(3), run(4))


@pytest.mark.skipif(not fused.available(), reason="numba not installed (extra 'fast')")
def test_simulator_backends_agree(testbed: scenarios.Scenario) -> None:
    sims = [Simulator(testbed.params, n_envs=5, seed=9, backend=b) for b in ("numpy", "fused")]
    for alloc in _random_allocations(testbed.params, 5, 8, seed=4):
        a, b = (s.step(alloc) for s in sims)
        _assert_same(a, b, "kpis")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda a: a.__setitem__((0, 0, 0), np.nan), "finite"),
        (lambda a: a.__setitem__((0, 4, 1), -0.1), "tn_bw"),
        (lambda a: a.__setitem__((0, 0, slice(None)), 0.6), "prb_ul"),
        (lambda a: a.__setitem__((0, 2, 0), 1.5), "mcs_ul"),
    ],
    ids=["nan", "negative", "over-capacity", "knob-above-1"],
)
def test_invalid_allocation_is_rejected_and_changes_nothing(
    testbed: scenarios.Scenario, mutate: object, field: str
) -> None:
    sim = Simulator(testbed.params, n_envs=2, seed=0, backend="numpy")
    before_state = sim.state
    before_rng = sim.rng.bit_generator.state
    alloc = np.broadcast_to(testbed.params.initial_allocation, (2, *testbed.params.initial_allocation.shape)).copy()
    mutate(alloc)  # type: ignore[operator]
    with pytest.raises(InvalidAllocationError) as err:
        sim.step(alloc)
    assert field in str(err.value)
    assert sim.state is before_state
    assert sim.rng.bit_generator.state == before_rng


def test_wrong_shape_is_rejected(testbed: scenarios.Scenario) -> None:
    sim = Simulator(testbed.params, n_envs=2, seed=0)
    with pytest.raises(InvalidAllocationError, match="shape"):
        sim.step(np.zeros((2, N_RESOURCES, testbed.params.n_slices + 1)))


def test_simulator_rejects_bad_construction(testbed: scenarios.Scenario) -> None:
    with pytest.raises(ConfigError, match="n_envs"):
        Simulator(testbed.params, n_envs=0)
    with pytest.raises(ConfigError, match="backend"):
        Simulator(testbed.params, backend="gpu")


def test_masked_reset_only_touches_masked_envs(testbed: scenarios.Scenario) -> None:
    sim = Simulator(testbed.params, n_envs=4, seed=1, backend="numpy")
    for _ in range(3):
        sim.step(testbed.params.initial_allocation)
    before = sim.state
    after = sim.reset(mask=np.array([False, True, False, False]))
    keep = [0, 2, 3]
    np.testing.assert_array_equal(after.t[keep], before.t[keep])
    np.testing.assert_array_equal(after.q_ran[keep], before.q_ran[keep])
    assert after.t[1] == 0
    assert not np.array_equal(after.traffic.load[1], before.traffic.load[1])


def test_share_rows_cover_every_capacity_constrained_resource() -> None:
    assert set(SHARE_ROWS) == {0, 1, 4, 5, 6}
