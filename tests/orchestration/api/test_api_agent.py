"""Agent API /ai/v1, metrics, health and docs, fault containment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from netslice.network.kernel import Kpis

ACTION = [[0.3, 0.3, 0.3]] * 7


def test_spaces(api: Any) -> None:
    r = api.get("/ai/v1/spaces")
    assert r.status_code == 200
    spaces = r.json()
    assert spaces["action_shape"] == [1, 7, 3]
    assert spaces["slices"] == ["mar", "video", "iot"]
    assert spaces["domains"] == ["ran", "tn", "cn", "edge"]
    assert "latency_ms" in spaces["kpis"]
    assert spaces["slots_per_episode"] == 24


def test_observation_after_reset_has_no_kpis(api: Any) -> None:
    obs = api.get("/ai/v1/observation").json()
    assert obs["slot"] == 0
    assert obs["kpis"] is None
    assert obs["active"] == [True, True, True]
    assert np.asarray(obs["allocation"]).shape == (1, 7, 3)
    assert obs["cost"] == [[0.0, 0.0, 0.0]]
    assert obs["faults"] == []


def test_actions_run_a_slot(api: Any) -> None:
    r = api.post("/ai/v1/actions", {"action": [ACTION]})
    assert r.status_code == 200, r.text
    result = r.json()
    assert set(result) == {"cost", "usage", "modified", "faults", "kpis", "observation"}
    assert set(result["kpis"]) == set(Kpis.__dataclass_fields__)
    assert np.asarray(result["kpis"]["latency_ms"]).shape == (1, 3)
    assert np.asarray(result["kpis"]["slice_usage"]).shape == (1, 4, 3)
    assert np.asarray(result["usage"]).shape == (1, 4)
    assert result["modified"] == [False]
    assert result["observation"]["slot"] == 1
    kpis = api.orch.observation().kpis
    assert result["kpis"]["latency_ms"] == kpis.latency_ms.tolist()  # exact floats
    assert api.get("/ai/v1/observation").json() == result["observation"]
    # A 2-D action is used for every env; over-subscribed shares are scaled down.
    over = [[0.6, 0.6, 0.6]] * 7
    r = api.post("/ai/v1/actions", {"action": over})
    assert r.status_code == 200, r.text
    assert r.json()["modified"] == [True]
    assert np.asarray(r.json()["observation"]["allocation"])[0, 0].sum() <= 1.0 + 1e-9


def test_slots_run_the_allocation_in_force(api: Any) -> None:
    assert api.post("/ai/v1/actions", {"action": ACTION}).status_code == 200
    r = api.post("/ai/v1/slots")
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["observation"]["slot"] == 2
    assert np.allclose(np.asarray(result["observation"]["allocation"])[0, 4], 0.3)  # tn_bw kept


@pytest.mark.parametrize(
    ("content", "type_", "fragment"),
    [
        (b'{"action": [[[NaN, 0.3, 0.3], [0.3, 0.3, 0.3], [0.3, 0.3, 0.3], [0.3, 0.3, 0.3], [0.3, 0.3, 0.3], '
         b'[0.3, 0.3, 0.3], [0.3, 0.3, 0.3]]]}', "InvalidAllocationError", "action[prb_ul]: must be finite"),
        (b'{"action": [[[1e400, 0.3, 0.3], [0.3, 0.3, 0.3], [0.3, 0.3, 0.3], [0.3, 0.3, 0.3], [0.3, 0.3, 0.3], '
         b'[0.3, 0.3, 0.3], [0.3, 0.3, 0.3]]]}', "InvalidAllocationError", "action[prb_ul]: must be finite"),
    ],
)  # fmt: skip
def test_non_finite_literals_rejected(api: Any, unchanged: Any, content: bytes, type_: str, fragment: str) -> None:
    api.assert_error(api.raw("POST", "/ai/v1/actions", content), 422, type_, fragment)
    unchanged()


def _with(value: Any, at: tuple[int, int] = (0, 0)) -> list[list[Any]]:
    action: list[list[Any]] = [list(row) for row in ACTION]
    action[at[0]][at[1]] = value
    return action


@pytest.mark.parametrize(
    ("action", "type_", "fragment"),
    [
        (_with("NaN"), "InvalidAllocationError", "action: entries must be JSON numbers, got str 'NaN'"),
        (_with(1e300), "InvalidAllocationError", "action[prb_ul]: must be in [0, 1], got 1e+300"),
        (_with(10**400), "InvalidAllocationError", "action: a number is too large"),
        (_with(-0.1, (4, 2)), "InvalidAllocationError", "action[tn_bw]: must be in [0, 1]"),
        (_with(True), "InvalidAllocationError", "action: entries must be JSON numbers, got bool"),
        (_with(None), "InvalidAllocationError", "action: entries must be JSON numbers, got NoneType"),
        (ACTION[:6], "InvalidAllocationError", "action: shape must be (n_envs, n_resources, n_slices) = (1, 7, 3)"),
        ([ACTION, ACTION], "InvalidAllocationError", "got (2, 7, 3)"),
        ([[0.3, 0.3], *ACTION[1:]], "InvalidAllocationError", "action: must be a rectangular array"),
        ([], "InvalidAllocationError", "action: shape must be"),
    ],
)
def test_invalid_actions_change_nothing(api: Any, unchanged: Any, action: Any, type_: str, fragment: str) -> None:
    api.assert_error(api.post("/ai/v1/actions", {"action": action}), 422, type_, fragment)
    unchanged()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"action": ACTION, "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"actions": ACTION}, "action: Field required"),
        ({"action": "0.3"}, "action: Input should be a valid list"),
        ({"action": ACTION, "dryRun": "yes"}, "dryRun: Input should be a valid boolean"),
    ],
)
def test_invalid_action_requests_change_nothing(api: Any, unchanged: Any, body: Any, fragment: str) -> None:
    api.assert_error(api.post("/ai/v1/actions", body), 422, "ValidationError", fragment)
    unchanged()


def test_malformed_action_body(api: Any, unchanged: Any) -> None:
    api.assert_error(api.raw("POST", "/ai/v1/actions", b'{"action": [0.3,'), 400, "MalformedJSON")
    api.assert_error(
        api.raw("POST", "/ai/v1/actions", b'{"action": []}', "application/x-www-form-urlencoded"),
        415, "UnsupportedMediaType", "Content-Type",
    )  # fmt: skip
    unchanged()


def test_dry_run_changes_nothing(api: Any, unchanged: Any) -> None:
    over = [[0.6, 0.6, 0.6]] * 7
    r = api.post("/ai/v1/actions", {"action": over, "dryRun": True})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["valid"] is True
    assert out["modified"] == [True]
    enforced = np.asarray(out["allocation"])
    assert enforced.shape == (1, 7, 3)
    np.testing.assert_allclose(enforced[0, 0], [1 / 3] * 3)
    np.testing.assert_allclose(enforced[0, 2], [0.6] * 3)  # MCS knobs are not scaled
    api.assert_error(api.post("/ai/v1/actions", {"action": _with("x"), "dryRun": True}), 422, "InvalidAllocationError")
    unchanged()


def test_dry_run_leaves_terminated_slices_out(api: Any) -> None:
    assert api.delete("NetworkSlice=iot").status_code == 204
    out = api.post("/ai/v1/actions", {"action": ACTION, "dryRun": True}).json()
    assert np.asarray(out["allocation"])[0, :, 2].tolist() == [0.0] * 7


def test_episodes(api: Any) -> None:
    api.post("/ai/v1/actions", {"action": ACTION})
    api.post("/ai/v1/slots")
    r = api.post("/ai/v1/episodes", {"seed": 5})
    assert r.status_code == 200, r.text
    obs = r.json()
    assert obs["slot"] == 0
    assert obs["kpis"] is None
    first = api.post("/ai/v1/slots").json()["kpis"]
    api.post("/ai/v1/episodes", {"seed": 5})
    assert api.post("/ai/v1/slots").json()["kpis"] == first  # same seed, same slot
    assert api.post("/ai/v1/episodes").status_code == 200  # no body: reset without re-seeding
    r = api.post("/ai/v1/episodes", {"seed": None, "mask": [True]})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("body", "type_", "fragment"),
    [
        ({"seed": "5"}, "ValidationError", "seed: Input should be a valid integer"),
        ({"seed": -1}, "ValidationError", "seed: Input should be greater than or equal to 0"),
        ({"seed": 1.5}, "ValidationError", "seed"),
        ({"mask": [True, False]}, "ConfigError", "mask: must have n_envs = 1 entries, got 2"),
        ({"mask": [1]}, "ValidationError", "mask.0"),
        ({"seed": 1, "steps": 3}, "ValidationError", "steps: Extra inputs"),
    ],
)
def test_invalid_episode_requests_change_nothing(
    api: Any, unchanged: Any, body: dict[str, Any], type_: str, fragment: str
) -> None:
    api.assert_error(api.post("/ai/v1/episodes", body), 422, type_, fragment)
    unchanged()


def test_domain_fault_is_reported_not_raised(api: Any) -> None:
    def boom(part: np.ndarray) -> None:
        raise RuntimeError("edge controller unreachable")

    api.orch.managers["edge"].fault_hook = boom
    before = api.orch.managers["edge"].in_force.copy()
    r = api.post("/ai/v1/actions", {"action": ACTION})
    assert r.status_code == 200, r.text
    fault = {"domain": "edge", "kind": "error", "message": "RuntimeError: edge controller unreachable", "slot": 0}
    assert r.json()["faults"] == [fault]
    assert r.json()["observation"]["faults"] == [fault]
    assert api.get("/ai/v1/observation").json()["faults"] == [fault]
    np.testing.assert_array_equal(api.orch.managers["edge"].in_force, before)  # previous allocation kept
    assert np.asarray(r.json()["observation"]["allocation"])[0, 4].tolist() == [0.3] * 3  # other domains applied
    metrics = api.get("/metrics").text
    assert 'netslice_domain_faults_total{domain="edge",kind="error"} 1.0' in metrics
    api.orch.managers["edge"].fault_hook = None
    assert api.post("/ai/v1/actions", {"action": ACTION}).json()["faults"] == []


def test_metrics(api: Any) -> None:
    for _ in range(3):
        assert api.post("/ai/v1/slots").status_code == 200
    api.get("/ai/v1/observation")
    r = api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for line in (
        "netslice_orchestrator_slots 3.0",
        "netslice_orchestrator_active_slices 3.0",
        "netslice_sla_slots 3.0",
        "netslice_sla_violation_rate ",
        'netslice_sla_violation_rate{slice="mar"} ',
        'netslice_sla_cost_mean{slice="iot"} ',
        'netslice_http_requests_total{method="POST",route="/ai/v1/slots",status="200"} 3.0',
        'netslice_http_request_duration_seconds_count{method="GET",route="/ai/v1/observation"} 1.0',
        'netslice_domain_faults_total{domain="ran",kind="timeout"} 0.0',
        'netslice_api_info{backend="numpy",n_envs="1",scenario="testbed-v0"} 1.0',
    ):
        assert line in text, line


def test_metrics_registries_are_per_app(api: Any, new_orchestrator: Any) -> None:
    from netslice.orchestration.api import create_app

    other = create_app(new_orchestrator(), "other-token")
    assert other.state.context.metrics.registry is not api.client.app.state.context.metrics.registry


def test_health_and_docs(api: Any) -> None:
    assert api.get("/healthz").json() == {"status": "ok", "scenario": "testbed-v0", "n_envs": 1}
    assert api.get("/docs").status_code == 200
    schema = api.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/ai/v1/actions" in paths
    assert "/ProvMnS/v1/SubNetwork=netslice/NetworkSlice={slice_id}" in paths
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
