"""ProvMnS-style NRM resources (TS 28.532 REST solution set) under ``/ProvMnS/v1/SubNetwork=netslice``.

=========================================================  ===========================  ==========================
resource (relative to the prefix)                          methods                      backed by
=========================================================  ===========================  ==========================
``/NetworkSlice``                                          GET (list)                   ``Orchestrator.records``
``/NetworkSlice={id}``                                     PUT, GET, PATCH, DELETE      slice lifecycle
``/NetworkSlice={id}/kpis``                                GET (``?env=0``)             ``views.kpi_record``
``/GNBDUFunction=1/RRMPolicyRatio``                        GET (list)                   ``views.rrm_policies``
``/GNBDUFunction=1/RRMPolicyRatio={id}``                   PUT, GET, PATCH, DELETE      ``views.*_rrm_policy``
``/TransportSliceAllocation={sliceId}``                    GET, PUT                     ``views.*transport_alloc*``
``/ComputeAllocation={sliceId},domain={cn|edge}``          GET, PUT                     ``views.*compute_alloc*``
=========================================================  ===========================  ==========================

PUT is createMOI/replace: 201 (with ``Location``) when it created the resource, 200 when it replaced it;
on a NetworkSlice, ``If-None-Match: *`` makes it create-only (412 if the slice exists) and ``If-Match: *``
replace-only (404 if it does not).
PATCH takes a JSON Patch (``application/3gpp-json-patch+json``, ``application/json-patch+json``) or a
merge patch (``application/merge-patch+json``, ``application/3gpp-merge-patch+json``) of the MOI document
and validates the result as a whole before anything changes. DELETE answers 204.

A NetworkSlice carries exactly one ServiceProfile (the slice it provisions is found by its S-NSSAI).
GET adds ``operationalState: ENABLED`` and a read-only ``VsDataContainer`` child (``vsDataType``
``x-netsliceSliceRecord``) with what admission control decided: slice index, UEs, SLA terms, the
reserved allocation per resource and the per-domain budgets. ``{sliceId}`` of the transport and compute
resources is a NetworkSlice id; their body's ``snssai`` must be that slice's S-NSSAI.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import SkipValidation

from netslice.errors import ConfigError, NetsliceError
from netslice.network.allocation import RESOURCES
from netslice.orchestration import views
from netslice.orchestration.api.bodies import OffLoopRoute, validate_body
from netslice.orchestration.api.context import ApiContext
from netslice.orchestration.api.errors import ApiError
from netslice.orchestration.api.methods import add_method_routes
from netslice.orchestration.api.patch import apply_patch
from netslice.orchestration.api.schemas import ANY_ROUTE, WRITE, NetworkSliceOut, error_responses
from netslice.orchestration.enforcement import DomainFault
from netslice.orchestration.nrm import (
    ComputeAllocation,
    ComputeDomain,
    NetworkSlice,
    RRMPolicyRatio,
    ServiceProfile,
    SliceKpiRecord,
    Snssai,
    TransportSliceAllocation,
    parse_nrm,
)

#: DN of the subnetwork every resource is contained in, and the URI prefix of the resources.
SUBNETWORK = "SubNetwork=netslice"
PREFIX = f"/ProvMnS/v1/{SUBNETWORK}"
#: The DU function holding the RRMPolicyRatio MOIs.
DU = "GNBDUFunction=1"
#: vsDataType of the read-only slice record in a NetworkSlice's VsDataContainer.
RECORD_VS_DATA_TYPE = "x-netsliceSliceRecord"

T = TypeVar("T")

# Bodies FastAPI does not validate in the event loop: the routes do, in their worker thread (see .bodies).
NetworkSliceBody = Annotated[NetworkSlice, SkipValidation, Body(title="NetworkSlice")]
RRMPolicyRatioBody = Annotated[RRMPolicyRatio, SkipValidation, Body(title="RRMPolicyRatio")]
TransportSliceAllocationBody = Annotated[
    TransportSliceAllocation, SkipValidation, Body(title="TransportSliceAllocation")
]
ComputeAllocationBody = Annotated[ComputeAllocation, SkipValidation, Body(title="ComputeAllocation")]

PatchBody = Annotated[
    Any,
    Body(
        description="JSON Patch (array of {op, path, value}) or merge patch (object) of the MOI document",
        media_type="application/3gpp-json-patch+json",
        examples=[[{"op": "replace", "path": "/attributes/serviceProfileList/0/dLLatency", "value": 450}]],
    ),
]


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _single_profile(ns: NetworkSlice) -> ServiceProfile:
    profiles = ns.attributes.service_profile_list
    if len(profiles) != 1:
        raise ConfigError(
            "attributes.serviceProfileList: a netslice NetworkSlice carries exactly one ServiceProfile, "
            f"got {len(profiles)}"
        )
    return profiles[0]


def _same_id(body_id: str, uri_id: str, cls: str) -> None:
    if body_id != uri_id:
        raise ConfigError(f"id: must equal the URI's {cls}={uri_id}, got {body_id!r}")


#: NetworkSlice attributes a write may not carry: read-only ones netslice sets, and ones it does not store.
READ_ONLY_SLICE_ATTRIBUTES = ("operationalState",)
UNSTORED_SLICE_ATTRIBUTES = ("networkSliceSubnetRef", "networkSliceControllerRef", "isolationProfileRef")


def _same_instance(given: str | None, expected: str) -> None:
    if given is not None and given != expected:
        raise ConfigError(f"objectInstance: must be {expected!r} (or left out), got {given!r}")


def _check_slice_write(ns: NetworkSlice, slice_id: str) -> None:
    """Reject what a NetworkSlice PUT or PATCH could carry but netslice would not store as given."""
    _same_id(ns.id, slice_id, "NetworkSlice")
    _same_instance(ns.object_instance, f"{SUBNETWORK},NetworkSlice={slice_id}")
    given = ns.attributes.model_dump(by_alias=True, exclude_none=True)
    for name in READ_ONLY_SLICE_ATTRIBUTES:
        if name in given:
            raise ConfigError(f"attributes.{name}: read-only (set by netslice); leave it out of PUT and PATCH")
    for name in UNSTORED_SLICE_ATTRIBUTES:
        if name in given:
            raise ConfigError(f"attributes.{name}: not supported by netslice (it would not be stored); leave it out")


def _check_policy_write(policy: RRMPolicyRatio, policy_id: str) -> None:
    _same_id(policy.id, policy_id, "RRMPolicyRatio")
    _same_instance(policy.object_instance, f"{SUBNETWORK},{DU},RRMPolicyRatio={policy_id}")


def _check_transport_write(current: TransportSliceAllocation, body: TransportSliceAllocation) -> None:
    """The endpoints and a delay bound are set by netslice: a PUT may repeat them, not change them."""
    if set(body.ep_transport_ref_list) != set(current.ep_transport_ref_list):
        raise ConfigError(
            f"epTransportRefList: the slice's transport endpoints are {current.ep_transport_ref_list} (set by "
            f"netslice), got {body.ep_transport_ref_list}"
        )
    if body.max_delay_ms is not None and body.max_delay_ms != current.max_delay_ms:
        raise ConfigError(
            "sloPolicy: the one-way-delay-maximum bound is the slice's transport budget from the SLA decomposition "
            f"({current.max_delay_ms} ms), read-only; got {body.max_delay_ms:.6g}"
        )


def _same_snssai(ctx: ApiContext, k: int, slice_id: str, snssai: Snssai) -> None:
    expected = views.snssai_of(ctx.orchestrator, k)
    if snssai != expected:
        raise ConfigError(f"snssai: must be {expected.key}, the S-NSSAI of NetworkSlice={slice_id}, got {snssai.key}")


def _domain_call(ctx: ApiContext, domain: str, call: Callable[[], T]) -> T:
    """Run a slow-path write; a domain manager that raises (not a validation error) gives 502.

    The fault is counted like a slot's (``orchestrator/faults/<domain>`` and
    ``netslice_domain_faults_total{kind="error"}``).
    """
    try:
        return call()
    except NetsliceError:
        raise
    except Exception as err:  # a failing manager must not take the server down
        message = f"{domain}: the domain manager failed ({type(err).__name__}: {err})"
        ctx.orchestrator.count_fault(domain)
        ctx.metrics.count_faults([DomainFault(domain, "error", message, ctx.orchestrator.slot)])
        raise ApiError(502, "DomainFault", f"{message}; the previous allocation stays in force") from err


def _created(status: int, content: Any, location: str) -> JSONResponse:
    headers = {"Location": f"{PREFIX}/{location}"} if status == 201 else None
    return JSONResponse(content, status_code=status, headers=headers)


# ------------------------------------------------------------------------------------ documents


def slice_document(ctx: ApiContext, slice_id: str) -> dict[str, Any]:
    """The writable NetworkSlice document ``{id, objectClass, attributes}`` (what PUT takes, PATCH edits)."""
    record = ctx.orchestrator.records[slice_id]
    state = ctx.administrative_state(slice_id)
    return {
        "id": slice_id,
        "objectClass": NetworkSlice.OBJECT_CLASS,
        "attributes": {"administrativeState": state.value, "serviceProfileList": [record.profile.to_json_dict()]},
    }


def slice_view(ctx: ApiContext, slice_id: str) -> dict[str, Any]:
    """The NetworkSlice MOI as GET returns it (see the module docstring)."""
    ctx.slice_index(slice_id)
    orch = ctx.orchestrator
    record = orch.records[slice_id]
    doc = slice_document(ctx, slice_id)
    doc["objectInstance"] = f"{SUBNETWORK},NetworkSlice={slice_id}"
    doc["attributes"]["operationalState"] = "ENABLED"
    out = parse_nrm(NetworkSlice, doc).to_json_dict()
    vs_data = {
        "sliceIndex": record.index,
        "sliceName": orch.scenario.params.slice_names[record.index],
        "snssai": views.snssai_of(orch, record.index).key,
        "nUes": record.n_ues,
        "slaTerms": record.terms,
        "reservation": dict(zip(RESOURCES, record.reservation.tolist(), strict=True)),
        "budgets": record.budgets,
    }
    out["VsDataContainer"] = [
        {
            "id": "slice-record",
            "objectClass": "VsDataContainer",
            "attributes": {"vsDataType": RECORD_VS_DATA_TYPE, "vsDataFormatVersion": "1.0", "vsData": vs_data},
        }
    ]
    return dict(_json_safe(out))


def _policy_view(policy: RRMPolicyRatio) -> dict[str, Any]:
    doc = policy.to_json_dict()
    doc["objectClass"] = RRMPolicyRatio.OBJECT_CLASS
    doc["objectInstance"] = f"{SUBNETWORK},{DU},RRMPolicyRatio={policy.id}"
    return parse_nrm(RRMPolicyRatio, doc).to_json_dict()


def _kpi_view(ctx: ApiContext, slice_id: str, k: int, env: int) -> dict[str, Any]:
    record = views.kpi_record(ctx.orchestrator, k, env)
    # views names the measured object after the scenario slice; the MOI is the NetworkSlice id.
    doc = {**record.to_json_dict(), "measObjDn": f"{SUBNETWORK},NetworkSlice={slice_id}"}
    return parse_nrm(SliceKpiRecord, doc).to_json_dict()


# --------------------------------------------------------------------------------------- router


def build_router(ctx: ApiContext) -> APIRouter:
    """The ProvMnS routes over ``ctx`` (see the module table)."""
    router = APIRouter(prefix=PREFIX, tags=["ProvMnS"], responses=error_responses(*ANY_ROUTE), route_class=OffLoopRoute)
    auth = [Depends(ctx.authorize)]
    orch, lock = ctx.orchestrator, ctx.lock

    # ------------------------------------------------------------------------------ NetworkSlice

    @router.get("/NetworkSlice", response_model=list[NetworkSliceOut], summary="List the NetworkSlice MOIs")
    def list_slices() -> JSONResponse:
        with lock:
            return JSONResponse([slice_view(ctx, sid) for sid in orch.records])

    @router.put(
        "/NetworkSlice={slice_id}",
        dependencies=auth,
        status_code=201,
        response_model=NetworkSliceOut,
        responses={
            200: {"model": NetworkSliceOut, "description": "replaced"},
            **error_responses(*WRITE, 404, 409, 412),
        },
        summary="createMOI / replace a NetworkSlice",
    )
    def put_slice(
        slice_id: str,
        raw: NetworkSliceBody,
        if_none_match: Annotated[str | None, Header(description="'*': create only (412 if it exists)")] = None,
        if_match: Annotated[str | None, Header(description="'*': replace only (404 if it does not exist)")] = None,
    ) -> JSONResponse:
        """Create the slice after admission control (201), or replace its ServiceProfile (200)."""
        body = validate_body(NetworkSlice, raw)
        _check_slice_write(body, slice_id)
        profile = _single_profile(body)
        with lock:
            exists = slice_id in orch.records
            if exists and if_none_match == "*":
                raise ApiError(412, "ConflictError", f"NetworkSlice={slice_id}: already exists (If-None-Match: *)")
            if not exists and if_match == "*":
                ctx.slice_index(slice_id)
            if exists:
                orch.modify_slice(slice_id, profile)
            else:
                orch.create_slice(slice_id, profile)
            ctx.set_administrative_state(slice_id, body.attributes.administrative_state)
            return _created(200 if exists else 201, slice_view(ctx, slice_id), f"NetworkSlice={slice_id}")

    @router.get(
        "/NetworkSlice={slice_id}",
        response_model=NetworkSliceOut,
        responses=error_responses(404),
        summary="getMOIAttributes of a NetworkSlice",
    )
    def get_slice(slice_id: str) -> JSONResponse:
        with lock:
            return JSONResponse(slice_view(ctx, slice_id))

    @router.patch(
        "/NetworkSlice={slice_id}",
        dependencies=auth,
        response_model=NetworkSliceOut,
        responses=error_responses(*WRITE, 404, 409),
        summary="modifyMOIAttributes of a NetworkSlice",
    )
    def patch_slice(slice_id: str, request: Request, body: PatchBody) -> JSONResponse:
        """Patch the slice document; a changed ServiceProfile goes through admission control again."""
        with lock:
            ctx.slice_index(slice_id)
            patched = apply_patch(slice_document(ctx, slice_id), body, request.headers.get("content-type"))
            ns = parse_nrm(NetworkSlice, patched, source=f"NetworkSlice={slice_id}")
            _check_slice_write(ns, slice_id)
            profile = _single_profile(ns)
            if profile != orch.records[slice_id].profile:
                orch.modify_slice(slice_id, profile)
            ctx.set_administrative_state(slice_id, ns.attributes.administrative_state)
            return JSONResponse(slice_view(ctx, slice_id))

    @router.delete(
        "/NetworkSlice={slice_id}",
        dependencies=auth,
        status_code=204,
        responses=error_responses(401, 403, 404),
        summary="deleteMOI: terminate a slice",
    )
    def delete_slice(slice_id: str) -> Response:
        with lock:
            orch.terminate_slice(slice_id)
            ctx.forget_administrative_state(slice_id)
        return Response(status_code=204)

    @router.get(
        "/NetworkSlice={slice_id}/kpis",
        response_model=SliceKpiRecord,
        responses=error_responses(404, 422),
        summary="SliceKpiRecord of the last slot",
    )
    def get_kpis(slice_id: str, env: Annotated[int, Query(ge=0, description="env index")] = 0) -> JSONResponse:
        with lock:
            if env >= orch.n_envs:
                raise ConfigError(f"env: must be < n_envs = {orch.n_envs}, got {env}")
            return JSONResponse(_kpi_view(ctx, slice_id, ctx.slice_index(slice_id), env))

    # ---------------------------------------------------------------------------- RRMPolicyRatio

    rrm = f"/{DU}/RRMPolicyRatio"

    @router.get(rrm, response_model=list[RRMPolicyRatio], summary="List the RRMPolicyRatio MOIs in force")
    def list_policies() -> JSONResponse:
        with lock:
            return JSONResponse([_policy_view(p) for p in views.rrm_policies(orch)])

    @router.put(
        rrm + "={policy_id}",
        dependencies=auth,
        status_code=201,
        response_model=RRMPolicyRatio,
        responses={200: {"model": RRMPolicyRatio, "description": "replaced"}, **error_responses(*WRITE, 404, 409)},
        summary="createMOI / replace a policy",
    )
    def put_policy(policy_id: str, raw: RRMPolicyRatioBody) -> JSONResponse:
        """Create (201) or replace (200) a policy; its quotas apply from the next slot."""
        body = validate_body(RRMPolicyRatio, raw)
        _check_policy_write(body, policy_id)
        with lock:
            exists = any(p.id == policy_id for p in views.rrm_policies(orch))
            policy = views.put_rrm_policy(orch, body)
            return _created(200 if exists else 201, _policy_view(policy), f"{DU}/RRMPolicyRatio={policy_id}")

    @router.get(
        rrm + "={policy_id}",
        response_model=RRMPolicyRatio,
        responses=error_responses(404),
        summary="getMOIAttributes of a policy",
    )
    def get_policy(policy_id: str) -> JSONResponse:
        with lock:
            return JSONResponse(_policy_view(views.get_rrm_policy(orch, policy_id)))

    @router.patch(
        rrm + "={policy_id}",
        dependencies=auth,
        response_model=RRMPolicyRatio,
        responses=error_responses(*WRITE, 404, 409),
        summary="modifyMOIAttributes of a policy",
    )
    def patch_policy(policy_id: str, request: Request, body: PatchBody) -> JSONResponse:
        with lock:
            current = _policy_view(views.get_rrm_policy(orch, policy_id))
            patched = apply_patch(current, body, request.headers.get("content-type"))
            policy = parse_nrm(RRMPolicyRatio, patched, source=f"RRMPolicyRatio={policy_id}")
            _check_policy_write(policy, policy_id)
            return JSONResponse(_policy_view(views.put_rrm_policy(orch, policy)))

    @router.delete(
        rrm + "={policy_id}",
        dependencies=auth,
        status_code=204,
        responses=error_responses(401, 403, 404),
        summary="deleteMOI: best effort again",
    )
    def delete_policy(policy_id: str) -> Response:
        with lock:
            views.delete_rrm_policy(orch, policy_id)
        return Response(status_code=204)

    # ----------------------------------------------------------------------- transport, compute

    @router.get(
        "/TransportSliceAllocation={slice_id}",
        response_model=TransportSliceAllocation,
        responses=error_responses(404),
        summary="The slice's transport allocation",
    )
    def get_transport(slice_id: str) -> JSONResponse:
        with lock:
            alloc = views.transport_allocation(orch, ctx.slice_index(slice_id))
            return JSONResponse(alloc.to_json_dict())

    @router.put(
        "/TransportSliceAllocation={slice_id}",
        dependencies=auth,
        response_model=TransportSliceAllocation,
        responses=error_responses(*WRITE, 404, 502),
        summary="Set the bandwidth bound",
    )
    def put_transport(slice_id: str, raw: TransportSliceAllocationBody) -> JSONResponse:
        """Set the slice's bandwidth share from the one-way-bandwidth bound (Mbit/s), all envs."""
        body = validate_body(TransportSliceAllocation, raw)
        with lock:
            k = ctx.slice_index(slice_id)
            _same_snssai(ctx, k, slice_id, body.snssai)
            _check_transport_write(views.transport_allocation(orch, k), body)
            alloc = _domain_call(ctx, "tn", lambda: views.put_transport_allocation(orch, body))
            return JSONResponse(alloc.to_json_dict())

    compute = "/ComputeAllocation={slice_id},domain={domain}"

    @router.get(
        compute,
        response_model=ComputeAllocation,
        responses=error_responses(404, 422),
        summary="The slice's vCPUs in the core (cn) or at its edge site (edge)",
    )
    def get_compute(slice_id: str, domain: ComputeDomain) -> JSONResponse:
        with lock:
            alloc = views.compute_allocation(orch, ctx.slice_index(slice_id), domain)
            return JSONResponse(alloc.to_json_dict())

    @router.put(
        compute,
        dependencies=auth,
        response_model=ComputeAllocation,
        responses=error_responses(*WRITE, 404, 502),
        summary="Set the slice's vCPUs in the core or at the edge",
    )
    def put_compute(slice_id: str, domain: ComputeDomain, raw: ComputeAllocationBody) -> JSONResponse:
        """Set the slice's CPU share from a vCPU count (all envs); ``domain`` in the body may be left out."""
        body = validate_body(ComputeAllocation, raw)
        if body.domain is not None and body.domain != domain:
            raise ConfigError(f"domain: must be {domain.value} as in the URI, got {body.domain.value}")
        if body.memory_mib is not None:
            raise ConfigError("memoryMiB: not supported by netslice (it allocates vCPUs only); leave it out")
        alloc = parse_nrm(ComputeAllocation, {**body.to_json_dict(), "domain": domain.value})
        with lock:
            k = ctx.slice_index(slice_id)
            _same_snssai(ctx, k, slice_id, alloc.snssai)
            out = _domain_call(ctx, domain.value, lambda: views.put_compute_allocation(orch, alloc))
            return JSONResponse(out.to_json_dict())

    add_method_routes(router)
    return router
