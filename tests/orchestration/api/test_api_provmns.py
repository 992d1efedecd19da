"""ProvMnS-style NRM resources: NetworkSlice lifecycle, RRMPolicyRatio, transport and compute allocations, KPIs.

Every rejected request must answer the API's error shape naming the field, and change nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

NS = "NetworkSlice"
RRM = "GNBDUFunction=1/RRMPolicyRatio"


# ------------------------------------------------------------------------------------ NetworkSlice


def test_startup_slices_listed(api: Any) -> None:
    r = api.get(NS)
    assert r.status_code == 200
    assert [m["id"] for m in r.json()] == ["mar", "video", "iot"]
    mar = api.get(f"{NS}=mar").json()
    assert mar["objectInstance"] == "SubNetwork=netslice,NetworkSlice=mar"
    assert mar["attributes"]["operationalState"] == "ENABLED"
    assert mar["attributes"]["serviceProfileList"][0]["dLLatency"] == 500.0
    vs = mar["VsDataContainer"][0]["attributes"]
    assert vs["vsDataType"] == "x-netsliceSliceRecord"
    assert vs["vsData"]["sliceIndex"] == 0
    assert vs["vsData"]["reservation"]["prb_ul"] == pytest.approx(float(api.orch.records["mar"].reservation[0]))


def test_create_replace_delete_slice(api: Any) -> None:
    assert api.delete(f"{NS}=mar").status_code == 204
    assert not api.orch.active[0]
    r = api.put(f"{NS}=ar1", api.network_slice("ar1", dLLatency=450))
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{api.P}/{NS}=ar1"
    assert api.orch.records["ar1"].terms["latency_ms"] == 450.0
    assert api.orch.active[0]
    r = api.put(f"{NS}=ar1", api.network_slice("ar1", dLLatency=480))
    assert r.status_code == 200
    assert r.json()["attributes"]["serviceProfileList"][0]["dLLatency"] == 480.0
    assert api.orch.records["ar1"].terms["latency_ms"] == 480.0
    assert api.delete(f"{NS}=ar1").status_code == 204
    api.assert_error(api.get(f"{NS}=ar1"), 404, "NotFoundError", "NetworkSlice=ar1")
    api.assert_error(api.delete(f"{NS}=ar1"), 404, "NotFoundError", "NetworkSlice=ar1")


def test_administrative_state_is_recorded(api: Any) -> None:
    body = api.network_slice("mar", dLLatency=500, maxNumberofUEs=5)
    body["attributes"]["administrativeState"] = "LOCKED"
    assert api.put(f"{NS}=mar", body).status_code == 200
    assert api.get(f"{NS}=mar").json()["attributes"]["administrativeState"] == "LOCKED"


def test_a_slice_provisioned_again_under_the_same_id_starts_unlocked(api: Any) -> None:
    # A request process (metro-dynamic-v0) or a seeded reset releases a slice and admits a new one under the same
    # id without the API: the new slice showed the released one's administrativeState.
    body = api.network_slice("mar", dLLatency=500)
    body["attributes"]["administrativeState"] = "LOCKED"
    assert api.put(f"{NS}=mar", body).status_code == 200
    profile = api.orch.records["mar"].profile
    api.orch.terminate_slice("mar")
    api.orch.create_slice("mar", profile)
    assert api.get(f"{NS}=mar").json()["attributes"]["administrativeState"] == "UNLOCKED"
    assert api.put(f"{NS}=mar", body).status_code == 200
    assert api.get(f"{NS}=mar").json()["attributes"]["administrativeState"] == "LOCKED"


def test_conditional_put(api: Any, unchanged: Any) -> None:
    body = api.network_slice("mar", dLLatency=450)
    api.assert_error(api.put(f"{NS}=mar", body, headers={"If-None-Match": "*"}), 412, "ConflictError", "already exists")
    body["id"] = "new"
    api.assert_error(api.put(f"{NS}=new", body, headers={"If-Match": "*"}), 404, "NotFoundError", "NetworkSlice=new")
    unchanged()


@pytest.mark.parametrize(
    ("mutate", "status", "type_", "fragment"),
    [
        (lambda b: b["attributes"].update(foo=1), 422, "ValidationError", "attributes.foo: Extra inputs"),
        (lambda b: b.update(bogus=True), 422, "ValidationError", "bogus: Extra inputs"),
        (lambda b: b["attributes"]["serviceProfileList"][0].update(dLLatency=-5), 422, "ValidationError",
         "attributes.serviceProfileList.0.dLLatency"),
        (lambda b: b["attributes"]["serviceProfileList"][0].update(sst="1"), 422, "ValidationError",
         "serviceProfileList.0.sst"),
        (lambda b: b["attributes"]["serviceProfileList"][0].pop("serviceProfileId"), 422, "ValidationError",
         "serviceProfileId: Field required"),
        (lambda b: b["attributes"].update(serviceProfileList=[]), 422, "ValidationError", "serviceProfileList"),
        (lambda b: b.update(objectClass="RRMPolicyRatio"), 422, "ValidationError", "objectClass"),
        (lambda b: b.update(id="other"), 422, "ConfigError", "id: must equal the URI's NetworkSlice=ar1"),
        (lambda b: b["attributes"]["serviceProfileList"].append(
            {**b["attributes"]["serviceProfileList"][0], "serviceProfileId": "sp-2"}), 422, "ConfigError",
         "exactly one ServiceProfile"),
        (lambda b: b["attributes"]["serviceProfileList"][0]["plmnInfoList"][0]["snssai"].update(sd="00ABCD"), 422,
         "ConfigError", "plmnInfoList.snssai: no slice of scenario testbed-v0 carries"),
        (lambda b: b["attributes"]["serviceProfileList"][0].update(dLLatency=50), 409, "AdmissionError",
         "latency floor"),
        (lambda b: b["attributes"]["serviceProfileList"][0].update(dLThptPerSlice={"guaThpt": 1e9}), 409,
         "AdmissionError", "insufficient capacity"),
    ],
)  # fmt: skip
def test_put_slice_invalid_changes_nothing(api: Any, mutate: Any, status: int, type_: str, fragment: str) -> None:
    assert api.delete(f"{NS}=mar").status_code == 204  # free mar's S-NSSAI for a new slice
    before = api.snapshot()
    body = api.network_slice("ar1", dLLatency=450)
    mutate(body)
    api.assert_error(api.put(f"{NS}=ar1", body), status, type_, fragment)
    assert api.snapshot() == before
    api.assert_error(api.get(f"{NS}=ar1"), 404, "NotFoundError")


def test_put_slice_conflicts(api: Any, unchanged: Any) -> None:
    # mar's S-NSSAI is provisioned at start-up under the id "mar".
    api.assert_error(
        api.put(f"{NS}=ar1", api.network_slice("ar1", dLLatency=450)), 409, "ConflictError", "NetworkSlice=mar"
    )
    # Replacing a slice cannot move it to another S-NSSAI.
    api.assert_error(
        api.put(f"{NS}=mar", api.network_slice("mar", "video")), 422, "ConfigError", "cannot change the slice's S-NSSAI"
    )
    unchanged()


def test_impossible_sla_on_replace_keeps_the_old_profile(api: Any, unchanged: Any) -> None:
    r = api.put(f"{NS}=mar", api.network_slice("mar", dLLatency=80))
    api.assert_error(r, 409, "AdmissionError", "admission rejected", "80 ms is below the slice's latency floor")
    assert api.get(f"{NS}=mar").json()["attributes"]["serviceProfileList"][0]["dLLatency"] == 500.0
    unchanged()


def test_malformed_json_and_media_type(api: Any, unchanged: Any) -> None:
    api.assert_error(api.raw("PUT", f"{NS}=ar1", b'{"id": "ar1",'), 400, "MalformedJSON", "body: not valid JSON")
    api.assert_error(
        api.raw("PUT", f"{NS}=ar1", b'{"id": "ar1"}', "text/plain"), 415, "UnsupportedMediaType", "Content-Type"
    )
    api.assert_error(api.raw("PATCH", f"{NS}=mar", b"[{"), 400, "MalformedJSON")
    api.assert_error(api.raw("PUT", f"{RRM}=x", b"nope"), 400, "MalformedJSON")
    unchanged()


def test_patch_slice_json_patch_and_merge_patch(api: Any) -> None:
    patch = [
        {"op": "test", "path": "/attributes/serviceProfileList/0/dLLatency", "value": 500.0},
        {"op": "replace", "path": "/attributes/serviceProfileList/0/dLLatency", "value": 450},
    ]
    r = api.patch(f"{NS}=mar", patch)
    assert r.status_code == 200, r.text
    assert r.json()["attributes"]["serviceProfileList"][0]["dLLatency"] == 450.0
    assert api.orch.records["mar"].terms["latency_ms"] == 450.0
    r = api.patch(f"{NS}=mar", {"attributes": {"administrativeState": "LOCKED"}}, "application/merge-patch+json")
    assert r.status_code == 200, r.text
    assert r.json()["attributes"]["administrativeState"] == "LOCKED"
    assert api.orch.records["mar"].terms["latency_ms"] == 450.0
    # A plain application/json array is a JSON Patch.
    r = api.patch(f"{NS}=mar", [{"op": "add", "path": "/attributes/serviceProfileList/0/uLLatency", "value": 470}],
                  "application/json")  # fmt: skip
    assert r.status_code == 200, r.text
    assert api.orch.records["mar"].profile.ul_latency == 470.0


@pytest.mark.parametrize(
    ("patch", "status", "type_", "fragment"),
    [
        ([{"op": "replace", "path": "/attributes/serviceProfileList/0/dLLatency", "value": 60}], 409,
         "AdmissionError", "latency floor"),
        ([{"op": "replace", "path": "/attributes/serviceProfileList/0/dLLatency", "value": "fast"}], 422,
         "ConfigError", "attributes.serviceProfileList.0.dLLatency"),
        ([{"op": "replace", "path": "/attributes/nope", "value": 1}], 422, "ConfigError",
         "patch[0].path: /attributes/nope does not exist"),
        ([{"op": "add", "path": "/attributes/nope", "value": 1}], 422, "ConfigError", "attributes.nope"),
        ([{"op": "replace", "path": "/id", "value": "other"}], 422, "ConfigError", "id: must equal"),
        ([{"op": "jump", "path": "/id"}], 422, "ConfigError", "patch[0].op"),
        ([{"op": "replace", "path": "/id"}], 422, "ConfigError", "patch[0].value: required"),
        ([{"op": "test", "path": "/attributes/serviceProfileList/0/dLLatency", "value": 1}], 409, "ConflictError",
         "test failed"),
        ([{"op": "remove", "path": "/attributes/serviceProfileList/0"}], 422, "ConfigError", "serviceProfileList"),
        ({"attributes": {"serviceProfileList": [{"sst": 1}]}}, 422, "ConfigError", "serviceProfileId"),
        (42, 422, "ConfigError", "merge patch"),
    ],
)  # fmt: skip
def test_patch_slice_invalid_changes_nothing(
    api: Any, unchanged: Any, patch: Any, status: int, type_: str, fragment: str
) -> None:
    content_type = "application/merge-patch+json" if not isinstance(patch, list) else "application/json-patch+json"
    api.assert_error(api.patch(f"{NS}=mar", patch, content_type), status, type_, fragment)
    assert api.get(f"{NS}=mar").json()["attributes"]["serviceProfileList"][0]["dLLatency"] == 500.0
    unchanged()


def test_patch_unknown_slice(api: Any) -> None:
    api.assert_error(api.patch(f"{NS}=nope", []), 404, "NotFoundError", "NetworkSlice=nope")


# -------------------------------------------------------------------------------------------- KPIs


def test_kpis_after_a_slot(api: Any) -> None:
    api.assert_error(api.get(f"{NS}=mar/kpis"), 404, "NotFoundError", "no slot has run")
    assert api.post("/ai/v1/slots").status_code == 200
    r = api.get(f"{NS}=video/kpis")
    assert r.status_code == 200
    record = r.json()
    assert record["snssai"] == {"sst": 1, "sd": "000002"}
    assert record["measObjDn"] == "SubNetwork=netslice,NetworkSlice=video"
    kpis = api.orch.observation().kpis
    assert record["measurements"]["DRB.UEThpDl"] == float(kpis.thp_dl_kbps[0, 1])
    assert record["measurements"]["DelayE2EDlNs"] == pytest.approx(float(kpis.latency_ms[0, 1]) * 10)
    api.assert_error(api.get(f"{NS}=video/kpis", params={"env": 1}), 422, "ConfigError", "env: must be < n_envs")
    api.assert_error(api.get(f"{NS}=video/kpis", params={"env": -1}), 422, "ValidationError", "query.env")
    api.assert_error(api.get(f"{NS}=nope/kpis"), 404, "NotFoundError", "NetworkSlice=nope")


def test_kpis_name_the_network_slice_id(api: Any) -> None:
    assert api.delete(f"{NS}=mar").status_code == 204
    assert api.put(f"{NS}=ar1", api.network_slice("ar1", dLLatency=450)).status_code == 201
    assert api.post("/ai/v1/slots").status_code == 200
    assert api.get(f"{NS}=ar1/kpis").json()["measObjDn"] == "SubNetwork=netslice,NetworkSlice=ar1"


def test_kpis_of_a_slice_provisioned_after_the_last_slot_are_not_the_former_tenants(api: Any) -> None:
    # ar1 takes mar's S-NSSAI after a slot: its KPI record was mar's measurements of that slot, under ar1's name.
    assert api.post("/ai/v1/slots").status_code == 200
    assert api.get(f"{NS}=mar/kpis").status_code == 200
    assert api.delete(f"{NS}=mar").status_code == 204
    assert api.put(f"{NS}=ar1", api.network_slice("ar1", dLLatency=450)).status_code == 201
    api.assert_error(api.get(f"{NS}=ar1/kpis"), 404, "NotFoundError", "NetworkSlice=ar1 was provisioned after the last")
    assert api.get(f"{NS}=video/kpis").status_code == 200  # the others' records stay
    assert api.put(f"{NS}=video", api.network_slice("video", snssai="video", dLLatency=900)).status_code == 200
    assert api.get(f"{NS}=video/kpis").status_code == 200  # a modified slice keeps its record
    assert api.post("/ai/v1/slots").status_code == 200
    assert api.get(f"{NS}=ar1/kpis").status_code == 200


# ----------------------------------------------------------------------------------- RRMPolicyRatio


def test_rrm_policies_list_and_get(api: Any) -> None:
    r = api.get(RRM)
    assert r.status_code == 200
    ids = [p["id"] for p in r.json()]
    assert ids == sorted(f"rrm-{s}-{d}" for s in ("mar", "video", "iot") for d in ("ul", "dl"))
    p = api.get(f"{RRM}=rrm-mar-ul").json()
    assert p["objectInstance"] == "SubNetwork=netslice,GNBDUFunction=1,RRMPolicyRatio=rrm-mar-ul"
    assert p["attributes"]["rRMPolicyMinRatio"] == 40  # testbed-v0: mar has 40 % of the UL PRBs
    api.assert_error(api.get(f"{RRM}=nope"), 404, "NotFoundError", "RRMPolicyRatio=nope")


def test_rrm_policy_replace_create_patch_delete(api: Any) -> None:
    # mar UL: 40 % -> min 30 %, max 80 %, dedicated 10 %; the UL min sum stays at 90 %.
    r = api.put(f"{RRM}=rrm-mar-ul", api.rrm_policy("rrm-mar-ul", mx=80, mn=30, d=10))
    assert r.status_code == 200, r.text
    rrm = api.orch.managers["ran"].rrm
    assert (rrm.dedicated[0, 0, 0], rrm.minimum[0, 0, 0], rrm.maximum[0, 0, 0]) == pytest.approx((0.1, 0.3, 0.8))
    # A new id for video's DL quota (replacing the default one): 201.
    r = api.put(f"{RRM}=video-dl", api.rrm_policy("video-dl", "video", "PRB_DL", mx=90, mn=50, d=0))
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"{RRM}=video-dl")
    ids = [p["id"] for p in api.get(RRM).json()]
    assert "video-dl" in ids
    assert "rrm-video-dl" not in ids
    r = api.patch(f"{RRM}=video-dl", [{"op": "replace", "path": "/attributes/rRMPolicyMinRatio", "value": 45}])
    assert r.status_code == 200, r.text
    assert r.json()["attributes"]["rRMPolicyMinRatio"] == 45
    r = api.patch(f"{RRM}=video-dl", {"attributes": {"rRMPolicyMaxRatio": 70}}, "application/merge-patch+json")
    assert r.status_code == 200, r.text
    assert r.json()["attributes"]["rRMPolicyMaxRatio"] == 70
    assert api.delete(f"{RRM}=video-dl").status_code == 204
    rrm = api.orch.managers["ran"].rrm  # an immutable snapshot: read the quotas in force again
    assert (rrm.dedicated[0, 1, 1], rrm.minimum[0, 1, 1], rrm.maximum[0, 1, 1]) == (0.0, 0.0, 1.0)  # best effort
    # The slot runs with the policies in force.
    assert api.post("/ai/v1/slots").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "type_", "fragment"),
    [
        ({"mx": 50, "mn": 60}, 422, "ValidationError", "rRMPolicyMinRatio: must be <= rRMPolicyMaxRatio"),
        ({"mn": 20, "d": 30}, 422, "ValidationError", "rRMPolicyDedicatedRatio: must be <= rRMPolicyMinRatio"),
        ({"mx": 101}, 422, "ValidationError", "attributes.rRMPolicyMaxRatio"),
        ({"mx": 80.5}, 422, "ValidationError", "attributes.rRMPolicyMaxRatio"),
        ({"mn": 50, "mx": 80}, 422, "InvalidAllocationError", "rRMPolicyMinRatio: the cell's policies would sum"),
        ({"mn": 50, "mx": 80, "d": 50}, 422, "InvalidAllocationError", "the cell's policies would sum to 110.0 %"),
        ({"rtype": "DRB"}, 422, "InvalidAllocationError", "resourceType"),
    ],
)
def test_rrm_policy_invalid_changes_nothing(
    api: Any, unchanged: Any, body: dict[str, Any], status: int, type_: str, fragment: str
) -> None:
    kwargs = {"mx": 100, "mn": 0, "d": 0, **body}
    api.assert_error(api.put(f"{RRM}=rrm-mar-ul", api.rrm_policy("rrm-mar-ul", **kwargs)), status, type_, fragment)
    unchanged()


def test_rrm_policy_conflict_changes_nothing(api: Any) -> None:
    # Once iot's UL quota is in an explicit policy, another explicit policy for it conflicts.
    assert api.put(f"{RRM}=iot-ul", api.rrm_policy("iot-ul", "iot", mx=45, mn=45, d=45)).status_code == 201
    before = api.snapshot()
    r = api.put(f"{RRM}=iot-ul-2", api.rrm_policy("iot-ul-2", "iot", mx=45, mn=45, d=45))
    api.assert_error(r, 409, "ConflictError", "rRMPolicyMemberList", "RRMPolicyRatio=iot-ul")
    assert api.snapshot() == before


def test_rrm_policy_other_invalid_payloads(api: Any, unchanged: Any) -> None:
    body = api.rrm_policy("rrm-mar-ul")
    body["attributes"]["rRMPolicyMemberList"][0]["snssai"] = {"sst": 1, "sd": "0000FF"}
    api.assert_error(api.put(f"{RRM}=rrm-mar-ul", body), 404, "NotFoundError", "snssai", "1-0000FF")
    api.assert_error(api.put(f"{RRM}=other", api.rrm_policy("rrm-mar-ul")), 422, "ConfigError", "id: must equal")
    body = api.rrm_policy("rrm-mar-ul")
    body["attributes"]["rRMPolicyMemberList"] += api.rrm_policy("x", "video")["attributes"]["rRMPolicyMemberList"]
    api.assert_error(api.put(f"{RRM}=rrm-mar-ul", body), 422, "InvalidAllocationError", "exactly one member")
    api.assert_error(
        api.patch(f"{RRM}=rrm-mar-ul", [{"op": "replace", "path": "/attributes/rRMPolicyMaxRatio", "value": 90},
                                        {"op": "replace", "path": "/attributes/rRMPolicyMinRatio", "value": 90}]),
        422, "InvalidAllocationError", "rRMPolicyMinRatio: the cell's policies would sum to 150.0 %",
    )  # fmt: skip
    api.assert_error(api.delete(f"{RRM}=nope"), 404, "NotFoundError", "RRMPolicyRatio=nope")
    unchanged()


# ----------------------------------------------------------------------------- transport, compute


def test_transport_allocation(api: Any) -> None:
    r = api.get("TransportSliceAllocation=mar")
    assert r.status_code == 200
    bound = next(b for b in r.json()["sloPolicy"] if b["metricType"] == "one-way-bandwidth")
    assert bound["bound"] == pytest.approx(40.0)  # 40 % of the 100 Mbit/s bottleneck
    r = api.put("TransportSliceAllocation=mar", api.transport("mar", 30.0))
    assert r.status_code == 200, r.text
    assert api.orch.managers["tn"].in_force[0, 0, 0] == pytest.approx(0.3)
    api.assert_error(api.get("TransportSliceAllocation=nope"), 404, "NotFoundError", "NetworkSlice=nope")


@pytest.mark.parametrize(
    ("slice_id", "body_snssai", "mbps", "status", "type_", "fragment"),
    [
        ("mar", "mar", 70.0, 422, "InvalidAllocationError", "shares on the node must sum to at most 1"),
        ("mar", "mar", 500.0, 422, "InvalidAllocationError", "sloPolicy.bound"),
        ("mar", "video", 10.0, 422, "ConfigError", "snssai: must be 1-000001"),
        ("mar", "mar", -1.0, 422, "ValidationError", "sloPolicy.0.bound"),
    ],
)
def test_transport_invalid_changes_nothing(
    api: Any, unchanged: Any, slice_id: str, body_snssai: str, mbps: float, status: int, type_: str, fragment: str
) -> None:
    r = api.put(f"TransportSliceAllocation={slice_id}", api.transport(body_snssai, mbps))
    api.assert_error(r, status, type_, fragment)
    unchanged()


def test_compute_allocation(api: Any) -> None:
    r = api.get("ComputeAllocation=mar,domain=cn")
    assert r.status_code == 200
    assert r.json() == {"snssai": {"sst": 1, "sd": "000001"}, "vCpu": pytest.approx(0.8), "domain": "cn"}
    snssai = api.SNSSAI["mar"]
    r = api.put("ComputeAllocation=mar,domain=edge", {"snssai": snssai, "vCpu": 0.5})
    assert r.status_code == 200, r.text
    assert r.json()["domain"] == "edge"
    assert api.orch.managers["edge"].in_force[0, 0, 0] == pytest.approx(
        0.5 / float(api.orch.scenario.params.edge.cores[0])
    )
    r = api.put("ComputeAllocation=mar,domain=cn", {"snssai": snssai, "vCpu": 0.6, "domain": "cn"})
    assert r.status_code == 200, r.text
    assert api.orch.managers["cn"].in_force[0, 0, 0] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("path", "body", "status", "type_", "fragment"),
    [
        ("ComputeAllocation=mar,domain=cn", {"vCpu": 3.0}, 422, "InvalidAllocationError", "vCpu"),
        ("ComputeAllocation=mar,domain=cn", {"vCpu": -1.0}, 422, "ValidationError", "vCpu"),
        ("ComputeAllocation=mar,domain=cn", {"vCpu": 0.5, "domain": "edge"}, 422, "ConfigError", "domain: must be cn"),
        ("ComputeAllocation=mar,domain=ran", {"vCpu": 0.5}, 422, "ValidationError", "path.domain"),
        ("ComputeAllocation=mar,domain=cn", {"vCpu": 0.5, "cores": 1}, 422, "ValidationError", "cores"),
        ("ComputeAllocation=nope,domain=cn", {"vCpu": 0.5}, 404, "NotFoundError", "NetworkSlice=nope"),
    ],
)
def test_compute_invalid_changes_nothing(
    api: Any, unchanged: Any, path: str, body: dict[str, Any], status: int, type_: str, fragment: str
) -> None:
    api.assert_error(api.put(path, {"snssai": api.SNSSAI["mar"], **body}), status, type_, fragment)
    unchanged()


def test_domain_manager_failure_on_the_slow_path(api: Any, unchanged: Any) -> None:
    def boom(part: np.ndarray) -> None:
        raise RuntimeError("edge controller unreachable")

    api.orch.managers["edge"].fault_hook = boom
    r = api.put("ComputeAllocation=mar,domain=edge", {"snssai": api.SNSSAI["mar"], "vCpu": 0.5})
    api.assert_error(r, 502, "DomainFault", "edge", "edge controller unreachable", "previous allocation")
    unchanged()
    assert api.get("/healthz").status_code == 200
    assert api.orch.metrics()["orchestrator/faults/edge"] == 1.0
    assert api.orch.metrics()["orchestrator/faults/tn"] == 0.0
    metrics = api.get("/metrics").text
    assert 'netslice_domain_faults_total{domain="edge",kind="error"} 1.0' in metrics


def test_unknown_route_and_method(api: Any) -> None:
    api.assert_error(api.get("Nothing=1"), 404, "NotFoundError", "no such resource")
    api.assert_error(api.post(f"{NS}=mar", {}), 405, "MethodNotAllowed")
