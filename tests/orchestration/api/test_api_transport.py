"""The transport layer of the REST API: bounded metrics, body limits, auth before the body, queueing, /docs, warm-up.

Timing-sensitive checks run against a real uvicorn server (``serve`` fixture) and assert order and
behaviour (an answer arrives, the server did not wait for the rest of a body), with generous timeouts.
"""

from __future__ import annotations

import json
import random
import re
import socket
import string
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from netslice.errors import ConfigError
from netslice.orchestration.api import create_app
from netslice.orchestration.orchestrator import Orchestrator

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Seconds a raw-socket test waits for an answer; the old server never answered (it waited for the body).
ANSWER_S = 10.0


def series(metrics_text: str) -> set[str]:
    """The sample lines' names and labels of a Prometheus text exposition."""
    return {line.rsplit(" ", 1)[0] for line in metrics_text.splitlines() if line and not line.startswith("#")}


def raw_exchange(url: str, head: bytes, parts: list[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` and ``parts`` on a fresh connection (no more), then read the answer until the server closes.

    Raises:
        TimeoutError: no complete answer within :data:`ANSWER_S` (the server waits for more body).
    """
    u = urlsplit(url)
    with socket.create_connection((u.hostname or "127.0.0.1", u.port or 80), timeout=ANSWER_S) as sock:
        sock.sendall(head)
        for part in parts:
            sock.sendall(part)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        header_block, _, body = data.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, headers, body


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def error_of(body: bytes) -> dict[str, Any]:
    doc = json.loads(body)
    assert set(doc) == {"error"}
    return dict(doc["error"])


# ------------------------------------------------------------------------------------------ metrics


def test_metrics_series_stay_bounded_under_made_up_methods_and_paths(client: Any) -> None:
    rng = random.Random(0)

    def junk(n: int) -> None:
        for _ in range(n):
            method = "X" + "".join(rng.choices(string.ascii_uppercase, k=8))
            client.request(method, "/healthz")
            client.get("/no/such/" + "".join(rng.choices(string.ascii_lowercase, k=12)))
            client.request(method, "/ai/v1/spaces")

    junk(3)
    client.get("/metrics")  # a scrape is counted after it answers: the second one shows its own series
    before = series(client.get("/metrics").text)
    junk(100)
    after = series(client.get("/metrics").text)
    assert after == before
    assert any('method="other"' in s and 'route="/healthz"' in s for s in after)
    assert any('route="unmatched"' in s for s in after)
    assert not any('method="X' in s or "/no/such" in s for s in after)


def test_requests_refused_before_the_body_are_counted_under_their_route(orch: Orchestrator) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(orch, TOKEN, max_body_bytes=100))
    assert client.post("/ai/v1/actions", json={"action": []}).status_code == 401
    assert client.post("/ai/v1/actions", content=b"x" * 200, headers=AUTH).status_code == 413
    text = client.get("/metrics").text
    assert 'netslice_http_requests_total{method="POST",route="/ai/v1/actions",status="401"} 1.0' in text
    assert 'netslice_http_requests_total{method="POST",route="/ai/v1/actions",status="413"} 1.0' in text


# --------------------------------------------------------------------------------- body size, auth


@pytest.mark.parametrize(("name", "value"), [("max_body_bytes", 0), ("worker_threads", 0), ("worker_threads", 1.5)])
def test_transport_settings_must_be_positive_integers(orch: Orchestrator, name: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"{name}: must be a positive integer"):
        create_app(orch, TOKEN, **{name: value})


def test_body_over_the_limit_gets_413_and_one_under_it_passes(orch: Orchestrator) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(orch, TOKEN, max_body_bytes=2000))
    _, rows, slices = client.get("/ai/v1/spaces").json()["action_shape"]
    action = [[0.3] * slices] * rows
    big = {"action": action, "pad": "x" * 3000}
    r = client.post("/ai/v1/actions", json=big, headers=AUTH)
    assert r.status_code == 413
    err = r.json()["error"]
    assert err == {"status": 413, "type": "PayloadTooLarge", "message": err["message"]}
    assert "body: must be at most 2000 bytes (max_body_bytes)" in err["message"]
    r = client.post("/ai/v1/actions", json={"action": action, "dryRun": True}, headers=AUTH)
    assert r.status_code == 200, r.text


def test_default_body_limit_leaves_room_for_the_largest_action_of_a_big_batch() -> None:
    from fastapi.testclient import TestClient

    big = Orchestrator.create("testbed-v0", n_envs=4096, seed=0, backend="numpy")
    client = TestClient(create_app(big, TOKEN, warm=False))
    n_envs, rows, slices = client.get("/ai/v1/spaces").json()["action_shape"]
    action = [[[0.123456789012345678] * slices] * rows] * n_envs
    body = json.dumps({"action": action, "dryRun": True}).encode()
    assert len(body) > 1 << 20  # over the 1 MiB floor
    r = client.post("/ai/v1/actions", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text[:300]


def test_oversized_content_length_gets_413_without_reading_the_body(orch: Orchestrator, serve: Any) -> None:
    with serve(create_app(orch, TOKEN, max_body_bytes=64 * 1024)) as url:
        head = request_head(
            "POST", "/ai/v1/actions", {**AUTH, "Content-Type": "application/json", "Content-Length": "50000000"}
        )
        status, headers, body = raw_exchange(url, head, [b"{" + b" " * 1000])  # 1 kB of the announced 50 MB
    assert status == 413
    assert error_of(body)["type"] == "PayloadTooLarge"
    assert "Content-Length is 50000000" in error_of(body)["message"]
    assert headers.get("connection") == "close"


def test_oversized_chunked_body_gets_413_without_reading_it_all(orch: Orchestrator, serve: Any) -> None:
    limit = 64 * 1024
    chunk = b"x" * 16 * 1024
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with serve(create_app(orch, TOKEN, max_body_bytes=limit)) as url:
        head = request_head(
            "POST", "/ai/v1/actions", {**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        )
        # 6 chunks (96 kB) and no terminating chunk: a server that reads to the end never answers.
        status, _, body = raw_exchange(url, head, [framed] * 6)
    assert status == 413
    assert "got more than that (streamed)" in error_of(body)["message"]


@pytest.mark.parametrize(
    ("auth", "status", "type_", "www"),
    [
        ({}, 401, "Unauthorized", "Bearer"),
        ({"Authorization": "Basic abc"}, 401, "Unauthorized", "Bearer"),
        ({"Authorization": "Bearer wrong"}, 403, "Forbidden", 'Bearer error="invalid_token"'),
    ],
)
def test_bad_token_is_refused_before_the_body_is_read(
    orch: Orchestrator, serve: Any, auth: dict[str, str], status: int, type_: str, www: str
) -> None:
    with serve(create_app(orch, TOKEN)) as url:
        head = request_head(
            "PUT",
            "/ProvMnS/v1/SubNetwork=netslice/NetworkSlice=big",
            {**auth, "Content-Type": "application/json", "Content-Length": "50000000"},
        )
        got, headers, body = raw_exchange(url, head, [b"{"])  # 1 byte of the announced 50 MB
    assert got == status
    err = error_of(body)
    assert err["status"] == status
    assert err["type"] == type_
    assert err["message"].startswith("Authorization: ")
    assert headers["www-authenticate"] == www


def test_guard_keeps_404_and_405_of_unknown_paths_and_methods(client: Any) -> None:
    assert client.post("/no/such/path", content=b"{}").status_code == 404
    assert client.post("/healthz", content=b"{}").status_code == 405


# ------------------------------------------------------------------------------- queueing, healthz


def test_healthz_answers_while_orchestrator_work_is_in_progress(orch: Orchestrator, serve: Any) -> None:
    entered, release = threading.Event(), threading.Event()
    step = orch.step

    def slow_step(action: Any = None) -> Any:
        entered.set()
        release.wait(timeout=30)
        return step(action)

    orch.step = slow_step  # type: ignore[method-assign]
    done: list[str] = []
    with serve(create_app(orch, TOKEN)) as url:
        worker = threading.Thread(
            target=lambda: done.append(str(httpx.post(f"{url}/ai/v1/slots", headers=AUTH, timeout=60).status_code))
        )
        worker.start()
        try:
            assert entered.wait(timeout=30)
            health = httpx.get(f"{url}/healthz", timeout=20)
            assert health.status_code == 200
            assert done == []  # the slot is still running
        finally:
            release.set()
            worker.join(timeout=60)
    assert done == ["200"]


def test_orchestrator_work_runs_on_one_worker_thread(orch: Orchestrator, serve: Any) -> None:
    threads: list[int] = []
    running = [0]
    most = [0]
    gate = threading.Lock()
    step = orch.step

    def tracked_step(action: Any = None) -> Any:
        with gate:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.append(threading.get_ident())
        time.sleep(0.02)
        with gate:
            running[0] -= 1
        return step(action)

    orch.step = tracked_step  # type: ignore[method-assign]
    with serve(create_app(orch, TOKEN)) as url:
        statuses: list[int] = []

        def client() -> None:
            with httpx.Client(base_url=url, headers=AUTH, timeout=60) as c:
                statuses.extend(c.post("/ai/v1/slots").status_code for _ in range(3))

        clients = [threading.Thread(target=client) for _ in range(16)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(timeout=120)
    assert statuses == [200] * 48
    assert most[0] == 1  # the API lock
    assert len(set(threads)) == 1  # worker_threads (default 1), not a thread per waiting request


# ------------------------------------------------------------------------------------------- docs


def test_docs_load_swagger_ui_from_local_urls_only(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text
    for link in urls:
        assert link.startswith("/"), link
        assert not link.startswith("//"), link
        assert client.get(link).status_code == 200, link
    assert any(link.endswith(".js") for link in urls)
    assert any(link.endswith(".css") for link in urls)


# ---------------------------------------------------------------------------------------- warm-up

WARM_UP_PROBE = """
import json, warnings
warnings.filterwarnings("ignore")
from fastapi.testclient import TestClient
from netslice.network import fused_kernel
from netslice.orchestration.api import create_app
from netslice.orchestration.orchestrator import Orchestrator

orch = Orchestrator.create("testbed-v0", n_envs=1, seed=0, backend="fused")
before = len(fused_kernel.step_envs.signatures)
slot = orch.slot
with TestClient(create_app(orch, "t")) as client:  # runs the lifespan, as uvicorn does before binding
    after = len(fused_kernel.step_envs.signatures)
    unchanged = orch.slot == slot
    first = client.post("/ai/v1/slots", headers={"Authorization": "Bearer t"}).status_code
print(json.dumps({"before": before, "after": after, "unchanged": unchanged, "first": first}))
"""


def test_start_up_compiles_the_kernel_before_the_first_request() -> None:
    from netslice.network import fused

    if not fused.available():
        pytest.skip("numba is not installed")
    out = subprocess.run([sys.executable, "-c", WARM_UP_PROBE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["before"] == 0  # a fresh process: nothing compiled yet
    assert probe["after"] >= 1  # compiled (or loaded from cache) at start-up, before any request
    assert probe["unchanged"]  # on a throw-away copy: the served orchestrator ran no slot
    assert probe["first"] == 200
