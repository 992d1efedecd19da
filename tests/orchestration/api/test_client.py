"""The HTTP client against real servers: equivalence with the in-process orchestrator, errors, ``netslice serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from typing import Any

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from netslice import cli
from netslice.errors import AdmissionError, ConfigError, ConflictError, InvalidAllocationError, NotFoundError
from netslice.network.kernel import Kpis
from netslice.orchestration.agent_api import Observation, Spaces, StepResult
from netslice.orchestration.api import OrchestratorClient, codec, create_app
from netslice.orchestration.api.client import AuthError
from netslice.orchestration.lifecycle import scenario_profile
from netslice.orchestration.nrm import ServiceProfile

TOKEN = "client-token"
P = "/ProvMnS/v1/SubNetwork=netslice"
PLMN = {"mcc": "001", "mnc": "01"}


def profile(**attrs: Any) -> ServiceProfile:
    return ServiceProfile.model_validate(
        {
            "serviceProfileId": "sp-ar",
            "plmnInfoList": [{"plmnId": PLMN, "snssai": {"sst": 1, "sd": "000001"}}],
            "sst": 1,
            **attrs,
        }
    )


def assert_kpis_equal(a: Kpis | None, b: Kpis | None) -> None:
    assert (a is None) == (b is None)
    if a is None or b is None:
        return
    for f in fields(Kpis):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


def assert_observations_equal(a: Observation, b: Observation) -> None:
    assert a.slot == b.slot
    assert a.faults == b.faults
    for name in ("hour", "active", "allocation", "cost"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert_kpis_equal(a.kpis, b.kpis)


def assert_results_equal(a: StepResult, b: StepResult) -> None:
    for name in ("cost", "usage", "modified"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.modified.dtype == b.modified.dtype
    assert a.faults == b.faults
    assert_kpis_equal(a.kpis, b.kpis)
    assert_observations_equal(a.observation, b.observation)


def test_in_process_and_http_are_identical(new_orchestrator: Any, serve: Any) -> None:
    local = new_orchestrator(n_envs=2, seed=7)
    served = new_orchestrator(n_envs=2, seed=7)
    with serve(create_app(served, TOKEN)) as url, OrchestratorClient(url, TOKEN, timeout=10) as remote:
        assert remote.spaces() == local.spaces()
        assert_observations_equal(remote.observation(), local.observation())
        rng = np.random.default_rng(123)
        modified = 0
        for t in range(10):
            shape = (7, 3) if t % 3 == 2 else (2, 7, 3)  # 2-D actions apply to every env
            action = rng.uniform(0.0, 0.6, shape)
            expected, got = local.step(action), remote.step(action)
            assert isinstance(got.kpis, Kpis)
            assert_results_equal(got, expected)
            modified += int(expected.modified.sum())
        assert modified > 0  # some actions were over capacity and scaled down: the same way on both sides
        assert_results_equal(remote.step(None), local.step(None))
        assert_observations_equal(remote.reset(seed=11), local.reset(seed=11))
        assert_results_equal(remote.step(np.full((2, 7, 3), 0.25)), local.step(np.full((2, 7, 3), 0.25)))
        mask = np.array([True, False])
        assert_observations_equal(remote.reset(mask=mask), local.reset(mask=mask))
        assert_results_equal(remote.step(None), local.step(None))
        assert_observations_equal(remote.observation(), local.observation())
        # Dry run: what would be enforced, without running a slot.
        over = np.full((2, 7, 3), 0.5)
        mod, alloc = remote.check_action(over)
        assert mod.tolist() == [True, True]
        np.testing.assert_allclose(alloc[:, 0].sum(axis=1), [1.0, 1.0])
        assert remote.observation().slot == local.observation().slot


def test_client_lifecycle_and_errors(new_orchestrator: Any, serve: Any) -> None:
    local = new_orchestrator()
    served = new_orchestrator()
    unknown = ServiceProfile.model_validate(
        {
            **profile(dLLatency=450).to_json_dict(),
            "plmnInfoList": [{"plmnId": PLMN, "snssai": {"sst": 1, "sd": "00AAAA"}}],
        }
    )
    with serve(create_app(served, TOKEN)) as url, OrchestratorClient(url, TOKEN) as remote:
        with pytest.raises(NotFoundError, match="no slot has run"):
            remote.kpis("mar")
        # Same error classes and messages as in-process.
        for orch in (local, remote):
            with pytest.raises(ConflictError, match="NetworkSlice=mar: already exists"):
                orch.create_slice("mar", scenario_profile(served.scenario, 0))
            with pytest.raises(ConflictError, match="already provisioned by NetworkSlice=mar"):
                orch.create_slice("ar1", profile(dLLatency=450))
            with pytest.raises(NotFoundError, match="NetworkSlice=nope"):
                orch.terminate_slice("nope")
            with pytest.raises(NotFoundError, match="NetworkSlice=nope"):
                orch.modify_slice("nope", profile(dLLatency=450))
            with pytest.raises(AdmissionError, match="latency floor"):
                orch.modify_slice("mar", profile(dLLatency=50))
            with pytest.raises(InvalidAllocationError, match=r"action\[prb_ul\]: must be finite"):
                orch.step(np.full((1, 7, 3), np.nan))
            with pytest.raises(InvalidAllocationError, match="shape must be"):
                orch.step(np.zeros((7, 2)))
            orch.terminate_slice("mar")
            with pytest.raises(ConfigError, match="no slice of scenario testbed-v0"):
                orch.create_slice("x", unknown)
            record = orch.create_slice("ar1", profile(dLLatency=450))
            assert record.slice_id == "ar1"
        remote_record, local_record = remote.records()["ar1"], local.records["ar1"]
        assert remote_record.profile == local_record.profile
        assert remote_record.index == local_record.index
        assert remote_record.terms == local_record.terms
        np.testing.assert_array_equal(remote_record.reservation, local_record.reservation)
        assert remote_record.budgets == local_record.budgets
        modified = remote.modify_slice("ar1", profile(dLLatency=480))
        assert modified.terms["latency_ms"] == 480.0
        remote.step(None)
        record = remote.kpis("ar1")
        assert record.meas_obj_dn == "SubNetwork=netslice,NetworkSlice=ar1"
        assert record.value("DRB.UEThpDl") == float(served.observation().kpis.thp_dl_kbps[0, 0])
        with pytest.raises(ConfigError, match="env: must be < n_envs"):
            remote.kpis("ar1", env=3)
    with serve(create_app(new_orchestrator(), TOKEN)) as url:
        with OrchestratorClient(url, "wrong") as bad, pytest.raises(AuthError, match="not valid"):
            bad.step(None)
        with OrchestratorClient(url) as anonymous:
            assert anonymous.observation().slot == 0  # GETs need no token
            with pytest.raises(AuthError, match="Bearer"):
                anonymous.reset()


def test_fault_reaches_the_client(new_orchestrator: Any, serve: Any) -> None:
    orch = new_orchestrator()

    def boom(part: np.ndarray) -> None:
        raise RuntimeError("tn controller down")

    orch.managers["tn"].fault_hook = boom
    with serve(create_app(orch, TOKEN)) as url, OrchestratorClient(url, TOKEN) as remote:
        result = remote.step(np.full((7, 3), 0.3))
        assert [(f.domain, f.kind, f.message) for f in result.faults] == [
            ("tn", "error", "RuntimeError: tn controller down")
        ]
        assert remote.observation().faults == result.faults
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_codec_covers_every_field(new_orchestrator: Any) -> None:
    orch = new_orchestrator()
    result = orch.step(None)
    assert set(codec.encode_spaces(orch.spaces())) == {f.name for f in fields(Spaces)}
    assert set(codec.encode_observation(result.observation)) == {f.name for f in fields(Observation)}
    assert set(codec.encode_step_result(result)) == {f.name for f in fields(StepResult)}
    assert set(codec.encode_kpis(result.kpis) or {}) == {f.name for f in fields(Kpis)}


def test_concurrent_requests_are_serialised(new_orchestrator: Any, serve: Any) -> None:
    orch = new_orchestrator(n_envs=4)
    n_threads, n_slots = 8, 5

    def work(i: int) -> list[int]:
        with OrchestratorClient(url, TOKEN) as c:
            slots = []
            for _ in range(n_slots):
                action = None if i % 2 else np.full((7, 3), 0.1 + 0.02 * i)
                slots.append(c.step(action).observation.slot)
                c.observation()
            return slots

    with serve(create_app(orch, TOKEN)) as url, ThreadPoolExecutor(n_threads) as pool:
        seen = [slot for slots in pool.map(work, range(n_threads)) for slot in slots]
    assert sorted(seen) == list(range(1, n_threads * n_slots + 1))  # every slot ran once, none lost or doubled
    assert orch.slot == n_threads * n_slots


# ---------------------------------------------------------------------------------- netslice serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_netslice_serve(healthy: Any) -> None:
    port, token = _free_port(), "serve-token"
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "netslice.cli", "serve", "--port", str(port), "--token", token,
           "--backend", "numpy", "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "NETSLICE_API_TOKEN": ""}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            healthy(url, timeout=60.0, alive=lambda: proc.poll() is None)
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, timeout=10) as http:
                assert http.delete(f"{P}/NetworkSlice=mar").status_code == 401
                assert http.delete(f"{P}/NetworkSlice=mar", headers=auth).status_code == 204
                body = {
                    "id": "ar1",
                    "objectClass": "NetworkSlice",
                    "attributes": {"serviceProfileList": [profile(dLLatency=450).to_json_dict()]},
                }
                r = http.put(f"{P}/NetworkSlice=ar1", json=body, headers=auth)
                assert r.status_code == 201, r.text
                assert http.post("/ai/v1/slots", headers=auth).status_code == 200
                r = http.get(f"{P}/NetworkSlice=ar1/kpis")
                assert r.status_code == 200, r.text
                assert r.json()["snssai"] == {"sst": 1, "sd": "000001"}
                assert r.json()["measurements"]["DelayE2EDlNs"] > 0
                assert "netslice_orchestrator_slots 1.0" in http.get("/metrics").text
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.seek(0)
            output = log.read().decode(errors="replace")
        assert token not in output  # a given token is never printed


@pytest.mark.parametrize(
    ("args", "env", "printed"),
    [
        ([], {}, True),
        (["--token", "from-flag"], {}, False),
        ([], {"NETSLICE_API_TOKEN": "from-env"}, False),
    ],
)
def test_serve_token_sources(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], printed: bool
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_serve(scenario: str, **kwargs: Any) -> None:
        calls.append({"scenario": scenario, **kwargs})

    monkeypatch.setattr("netslice.orchestration.api.server.serve", fake_serve)
    monkeypatch.delenv("NETSLICE_API_TOKEN", raising=False)
    result = CliRunner().invoke(cli.app, ["serve", "--n-envs", "2", "--seed", "3", *args], env=env)
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert call["scenario"] == "testbed-v0"
    assert (call["n_envs"], call["seed"], call["host"], call["port"]) == (2, 3, "127.0.0.1", 8080)
    token = call["token"]
    assert token
    if printed:
        assert result.output.count(token) == 1
        assert len(token) >= 32
    else:
        assert token in ("from-flag", "from-env")
        assert token not in result.output


def test_serve_reports_bad_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETSLICE_API_TOKEN", raising=False)
    result = CliRunner().invoke(cli.app, ["serve", "--scenario", "no-such-scenario", "--token", "t"])
    assert result.exit_code == 2
    assert "no-such-scenario" in result.output
