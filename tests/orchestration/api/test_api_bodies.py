"""Request bodies are decoded and validated off the event loop (issue 9, item 4), with the same answers.

A large body used to be decoded and validated by FastAPI in the event loop, where no other client is served in
the meantime (a 1.5 MB NetworkSlice: ~0.6 s). Now both run in worker threads: the checks below record, inside
the decoder and the validator, whether an event loop runs in the current thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netslice.orchestration.api import bodies, provmns
from netslice.orchestration.api.provmns import PREFIX

from .conftest import AUTH, network_slice


def in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def where(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """Whether each decode / validation ran in an event loop thread."""
    seen: dict[str, list[bool]] = {"decode": [], "validate": []}
    decode, validate = bodies.decode, provmns.validate_body

    def spy_decode(body: bytes) -> Any:
        seen["decode"].append(in_event_loop())
        return decode(body)

    def spy_validate(model: Any, body: Any) -> Any:
        seen["validate"].append(in_event_loop())
        return validate(model, body)

    monkeypatch.setattr(bodies, "decode", spy_decode)
    monkeypatch.setattr(provmns, "validate_body", spy_validate)
    return seen


def test_large_body_is_decoded_and_validated_in_worker_threads(
    client: TestClient, where: dict[str, list[bool]]
) -> None:
    body = network_slice("mar")
    body["attributes"]["padding"] = "x" * bodies.OFF_LOOP_MIN_BYTES  # large; rejected by validation (unknown key)
    r = client.put(f"{PREFIX}/NetworkSlice=mar", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("attributes.padding: Extra inputs are not permitted")
    assert where == {"decode": [False], "validate": [False]}


def test_small_body_is_decoded_in_the_loop_and_validated_in_a_worker_thread(
    client: TestClient, where: dict[str, list[bool]]
) -> None:
    r = client.put(f"{PREFIX}/NetworkSlice=mar", json=network_slice("mar"), headers=AUTH)
    assert r.status_code == 200, r.text
    assert where == {"decode": [True], "validate": [False]}


def test_answers_are_unchanged_for_invalid_and_non_json_bodies(client: TestClient) -> None:
    bad = network_slice("mar")
    bad["attributes"]["serviceProfileList"][0]["maxNumberofUEs"] = -1
    r = client.put(f"{PREFIX}/NetworkSlice=mar", json=bad, headers=AUTH)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "ValidationError"
    assert err["message"].startswith("attributes.serviceProfileList.0.maxNumberofUEs:"), err
    r = client.put(
        f"{PREFIX}/NetworkSlice=mar", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert (r.status_code, r.json()["error"]["type"]) == (400, "MalformedJSON")
    r = client.put(f"{PREFIX}/NetworkSlice=mar", content=b"x=1", headers={**AUTH, "Content-Type": "text/plain"})
    assert (r.status_code, r.json()["error"]["type"]) == (415, "UnsupportedMediaType")
    r = client.post("/ai/v1/actions", json={"action": "nope"}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("action:"), r.text
