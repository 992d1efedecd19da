"""The agent API ``/ai/v1``: the orchestrator's agent interface over HTTP.

=========================  ====================================================================================
route                      what
=========================  ====================================================================================
``GET /ai/v1/spaces``       shapes, bounds and names (``Orchestrator.spaces``)
``GET /ai/v1/observation``  the latest observation (``Orchestrator.observation``)
``POST /ai/v1/actions``     ``{"action": [[[...]]], "dryRun": false}``: run one slot under the action
                            (``Orchestrator.step(action)``) and return the StepResult; with ``dryRun`` only check
                            it and return the allocation capacity enforcement would apply
``POST /ai/v1/episodes``    ``{"seed": int | null, "mask": [bool] | null}``: ``Orchestrator.reset``, returns the
                            observation
``POST /ai/v1/slots``       run one slot under the allocation in force (``Orchestrator.step(None)``)
=========================  ====================================================================================

The JSON shapes are those of :mod:`netslice.orchestration.api.codec`. A domain manager that fails
during a slot does not fail the request: the slot runs with that domain's previous allocation and
the fault is listed in ``faults`` of the result and of the observation.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from numpy.typing import NDArray
from pydantic import SkipValidation

from netslice.errors import ConfigError, InvalidAllocationError
from netslice.orchestration.api.bodies import OffLoopRoute, validate_body
from netslice.orchestration.api.codec import encode_array, encode_observation, encode_spaces, encode_step_result
from netslice.orchestration.api.context import ApiContext
from netslice.orchestration.api.methods import add_method_routes
from netslice.orchestration.api.schemas import (
    ANY_ROUTE,
    WRITE,
    ActionRequest,
    DryRunOut,
    EpisodeRequest,
    ObservationOut,
    SpacesOut,
    StepResultOut,
    error_responses,
)
from netslice.orchestration.orchestrator import Orchestrator

FloatArray = NDArray[np.float64]
#: An action body, validated by the route in its worker thread (see :mod:`.bodies`).
ActionBody = Annotated[ActionRequest, SkipValidation, Body(title="ActionRequest")]


def action_array(value: list[Any]) -> FloatArray:
    """The ``action`` of a request as a float array; every leaf must be a JSON number (not a string or bool).

    Shape, finiteness and range are checked by the orchestrator
    (:func:`~netslice.orchestration.capacity.check_action`).

    Raises:
        InvalidAllocationError: a leaf is not a number, the nesting is ragged, or a number overflows float64.
    """
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool) or not isinstance(item, int | float):
            raise InvalidAllocationError(f"action: entries must be JSON numbers, got {type(item).__name__} {item!r}")
    try:
        return np.array(value, dtype=np.float64)
    except OverflowError:
        raise InvalidAllocationError("action: a number is too large for a float64") from None
    except ValueError:
        raise InvalidAllocationError(
            "action: must be a rectangular array (n_envs, n_resources, n_slices) or (n_resources, n_slices)"
        ) from None


def dry_run(orch: Orchestrator, action: FloatArray) -> dict[str, Any]:
    """Check an action as :meth:`Orchestrator.step` would, and return what would be enforced; changes nothing.

    The same pipeline as a slot (:meth:`Orchestrator.prepare`), then every domain's rules
    (:meth:`Orchestrator.check_domains`).

    Raises:
        InvalidAllocationError: the action (or a domain's rows after enforcement) breaks a rule.
    """
    prepared = orch.prepare(action)
    orch.check_domains(prepared.enforced)
    return {"valid": True, "modified": encode_array(prepared.modified), "allocation": encode_array(prepared.enforced)}


def build_router(ctx: ApiContext) -> APIRouter:
    """The agent routes over ``ctx`` (see the module table)."""
    router = APIRouter(prefix="/ai/v1", tags=["agent"], responses=error_responses(*ANY_ROUTE), route_class=OffLoopRoute)
    auth = [Depends(ctx.authorize)]
    orch, lock = ctx.orchestrator, ctx.lock

    @router.get("/spaces", response_model=SpacesOut, summary="Shapes, bounds and names")
    def spaces() -> JSONResponse:
        with lock:
            return JSONResponse(encode_spaces(orch.spaces()))

    @router.get("/observation", response_model=ObservationOut, summary="The latest observation")
    def observation() -> JSONResponse:
        with lock:
            return JSONResponse(encode_observation(orch.observation()))

    @router.post(
        "/actions",
        dependencies=auth,
        response_model=StepResultOut | DryRunOut,
        responses=error_responses(*WRITE),
        summary="Run one slot under an action",
    )
    def actions(raw: ActionBody) -> JSONResponse:
        """Run one slot under ``action`` and return the StepResult (``dryRun``: check only, change nothing)."""
        body = validate_body(ActionRequest, raw)
        action = action_array(body.action)
        with lock:
            if body.dry_run:
                return JSONResponse(dry_run(orch, action))
            result = orch.step(action)
            ctx.metrics.count_faults(result.faults)
            return JSONResponse(encode_step_result(result))

    @router.post(
        "/episodes",
        dependencies=auth,
        response_model=ObservationOut,
        responses=error_responses(*WRITE),
        summary="Start new episodes",
    )
    def episodes(body: Annotated[EpisodeRequest | None, Body()] = None) -> JSONResponse:
        """Reset every env (re-seeding when ``seed`` is given), or the envs in ``mask``."""
        request = body or EpisodeRequest()
        with lock:
            mask = None
            if request.mask is not None:
                if len(request.mask) != orch.n_envs:
                    raise ConfigError(f"mask: must have n_envs = {orch.n_envs} entries, got {len(request.mask)}")
                mask = np.array(request.mask, dtype=bool)
            return JSONResponse(encode_observation(orch.reset(seed=request.seed, mask=mask)))

    @router.post(
        "/slots",
        dependencies=auth,
        response_model=StepResultOut,
        responses=error_responses(401, 403),
        summary="Run one slot, allocation in force",
    )
    def slots() -> JSONResponse:
        """Run one slot without a new action (the RAN re-applies its RRMPolicyRatio quotas to the latest need)."""
        with lock:
            result = orch.step(None)
            ctx.metrics.count_faults(result.faults)
            return JSONResponse(encode_step_result(result))

    add_method_routes(router)
    return router
