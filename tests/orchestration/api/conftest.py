"""Fixtures of the REST API tests: a fresh orchestrator and app per test, request helpers, a live server.

Every orchestrator runs testbed-v0 (slices mar 1-000001, video 1-000002, iot 3-000003, all provisioned at
start-up under their names) on the numpy backend with seed 0. Helpers reach the tests through fixtures
(``api``, ``unchanged``, ``serve``, ``new_orchestrator``) so that no test module imports this file.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from netslice.orchestration.api import create_app
from netslice.orchestration.orchestrator import Orchestrator

with warnings.catch_warnings():
    # Starlette asks for httpx2 in its test client; httpx still works and is what the project installs.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

Data = dict[str, Any]

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
P = "/ProvMnS/v1/SubNetwork=netslice"
PLMN = {"mcc": "001", "mnc": "01"}
SNSSAI = {"mar": {"sst": 1, "sd": "000001"}, "video": {"sst": 1, "sd": "000002"}, "iot": {"sst": 3, "sd": "000003"}}


def make_orchestrator(n_envs: int = 1, seed: int = 0) -> Orchestrator:
    return Orchestrator.create("testbed-v0", n_envs=n_envs, seed=seed, backend="numpy")


@pytest.fixture(scope="session")
def template_orchestrator() -> Orchestrator:
    """One testbed-v0 orchestrator built once; tests get deep copies of it (admission checks take a while)."""
    return make_orchestrator()


@pytest.fixture
def orch(template_orchestrator: Orchestrator) -> Orchestrator:
    """A fresh testbed-v0 orchestrator (one env, seed 0, numpy backend): a deep copy of the template."""
    return copy.deepcopy(template_orchestrator)


@pytest.fixture
def app(orch: Orchestrator) -> FastAPI:
    """The app serving :func:`orch` with token :data:`TOKEN`."""
    return create_app(orch, TOKEN)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    """An in-process client (no auth header by default; pass ``headers=AUTH``)."""
    return TestClient(app)


def service_profile(snssai: str = "mar", **attrs: Any) -> Data:
    """A ServiceProfile payload for a testbed S-NSSAI, with extra attributes."""
    s = SNSSAI[snssai]
    return {
        "serviceProfileId": f"sp-{snssai}-1",
        "plmnInfoList": [{"plmnId": PLMN, "snssai": dict(s)}],
        "sst": s["sst"],
        **attrs,
    }


def network_slice(slice_id: str, snssai: str = "mar", **attrs: Any) -> Data:
    """A createMOI body of a NetworkSlice with one ServiceProfile."""
    return {
        "id": slice_id,
        "objectClass": "NetworkSlice",
        "attributes": {"administrativeState": "UNLOCKED", "serviceProfileList": [service_profile(snssai, **attrs)]},
    }


def rrm_policy(
    policy_id: str, snssai: str = "mar", rtype: str = "PRB_UL", mx: int = 100, mn: int = 0, d: int = 0
) -> Data:
    """An RRMPolicyRatio body."""
    return {
        "id": policy_id,
        "objectClass": "RRMPolicyRatio",
        "attributes": {
            "resourceType": rtype,
            "rRMPolicyMemberList": [{"plmnId": PLMN, "snssai": dict(SNSSAI[snssai])}],
            "rRMPolicyMaxRatio": mx,
            "rRMPolicyMinRatio": mn,
            "rRMPolicyDedicatedRatio": d,
        },
    }


def transport(snssai: str = "mar", mbps: float = 30.0) -> Data:
    """A TransportSliceAllocation body with a bandwidth bound."""
    return {
        "snssai": dict(SNSSAI[snssai]),
        "epTransportRefList": ["SubNetwork=TN,EP_Transport=ran-n3", "SubNetwork=TN,EP_Transport=edge1-n6"],
        "sloPolicy": [{"metricType": "one-way-bandwidth", "metricUnit": "Mbps", "bound": mbps}],
    }


def snapshot(orch: Orchestrator) -> Data:
    """Everything a request could change, as plain data (compare two snapshots with ==)."""
    rrm = orch.managers["ran"].rrm
    assert rrm is not None
    return copy.deepcopy(
        {
            "records": {
                sid: (r.index, r.profile.to_json(), r.reservation.tolist(), r.terms) for sid, r in orch.records.items()
            },
            "active": orch.active.tolist(),
            "slot": orch.slot,
            "in_force": {name: m.in_force.tolist() for name, m in orch.managers.items()},
            "rrm": (rrm.dedicated.tolist(), rrm.minimum.tolist(), rrm.maximum.tolist(), rrm.need.tolist()),
            "rrm_ids": dict(orch.managers["ran"].rrm_ids),
            # repr: the targets hold NaN (no such term), and NaN != NaN.
            "targets": repr(vars(orch.assurance.targets)),
            "sim_t": orch.sim.state.t.tolist(),
            "rng": orch.sim.rng.bit_generator.state,
        }
    )


def assert_error(response: httpx.Response, status: int, type_: str, *fragments: str) -> None:
    """The response is an error of the API's one shape, whose message contains every fragment."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["type"] == type_, body
    for fragment in fragments:
        assert fragment in body["error"]["message"], body["error"]["message"]


@pytest.fixture
def unchanged(orch: Orchestrator) -> Callable[[], None]:
    """Call the yielded function to assert that nothing changed since the test started."""
    before = snapshot(orch)

    def check() -> None:
        assert snapshot(orch) == before

    return check


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread on a free port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_healthy(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_healthy(url: str, timeout: float = 30.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Poll ``GET /healthz`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert alive(), "the server exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url}/healthz did not answer within {timeout} s")


class Api:
    """Request helpers over one TestClient: ProvMnS paths are relative to :data:`P`, auth is on by default."""

    P = P
    AUTH = AUTH
    TOKEN = TOKEN
    SNSSAI = SNSSAI
    network_slice = staticmethod(network_slice)
    service_profile = staticmethod(service_profile)
    rrm_policy = staticmethod(rrm_policy)
    transport = staticmethod(transport)
    assert_error = staticmethod(assert_error)

    def __init__(self, client: TestClient, orch: Orchestrator) -> None:
        self.client = client
        self.orch = orch

    def url(self, path: str) -> str:
        return path if path.startswith("/") else f"{P}/{path}"

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(self.url(path), **kw)

    def send(self, method: str, path: str, body: Any = None, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = {**(AUTH if auth else {}), **kw.pop("headers", {})}
        if body is not None:
            kw["json"] = body
        return self.client.request(method, self.url(path), headers=headers, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.send("PUT", path, body, **kw)

    def patch(
        self, path: str, body: Any, content_type: str = "application/3gpp-json-patch+json", **kw: Any
    ) -> httpx.Response:
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        return self.send("PATCH", path, content=json.dumps(body), headers=headers, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.send("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.send("DELETE", path, **kw)

    def raw(self, method: str, path: str, content: bytes, content_type: str = "application/json") -> httpx.Response:
        return self.send(method, path, content=content, headers={"Content-Type": content_type})

    def snapshot(self) -> Data:
        return snapshot(self.orch)


@pytest.fixture
def api(client: TestClient, orch: Orchestrator) -> Api:
    """Request helpers bound to the test's client and orchestrator."""
    return Api(client, orch)


@pytest.fixture
def serve() -> Callable[[FastAPI], Any]:
    """``with serve(app) as url:`` runs ``app`` with uvicorn in a thread (see :func:`live_server`)."""
    return live_server


@pytest.fixture
def new_orchestrator() -> Callable[..., Orchestrator]:
    """``new_orchestrator(n_envs=1, seed=0)``: another testbed-v0 orchestrator (numpy backend)."""
    return make_orchestrator


@pytest.fixture
def healthy() -> Callable[..., None]:
    """``healthy(url, timeout, alive)`` polls ``/healthz`` until it answers."""
    return wait_healthy
