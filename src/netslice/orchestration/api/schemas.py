"""Request and response schemas of the agent API (``/ai/v1``) and the shared error shape.

Requests are validated by these models (unknown keys are errors, numbers must be finite). Responses
are written by :mod:`netslice.orchestration.api.codec` for exact floats; the response models here
document them in the OpenAPI schema (``/docs``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from netslice.orchestration.nrm import NetworkSlice

#: Floats sent by an agent: finite, and JSON numbers only (``"0.5"`` and ``true`` are rejected).
StrictFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class ActionRequest(_Strict):
    """``POST /ai/v1/actions``: one slot's allocation.

    ``action`` is ``(n_envs, n_resources, n_slices)`` or ``(n_resources, n_slices)`` (the same allocation for
    every env), finite numbers in [0, 1]. With ``dryRun`` the action is checked and the capacity
    enforcement is computed, but nothing changes and no slot runs.
    """

    action: list[Any] = Field(
        description="nested array (n_envs, n_resources, n_slices) or (n_resources, n_slices) of numbers in [0, 1]",
        examples=[[[0.3, 0.3, 0.3]] * 7],
    )
    dry_run: bool = Field(default=False, alias="dryRun", strict=True, description="validate only; change nothing")


class EpisodeRequest(_Strict):
    """``POST /ai/v1/episodes``: start new episodes (every env, or those in ``mask``)."""

    seed: int | None = Field(default=None, strict=True, ge=0, description="re-seed the simulator first")
    mask: list[Annotated[bool, Field(strict=True)]] | None = Field(
        default=None, description="(n_envs,) envs to reset; null resets every env and the slot counter"
    )


class ErrorInfo(BaseModel):
    """The content of an error response."""

    status: int
    type: str = Field(description="netslice error class (ConfigError, NotFoundError, ...) or an HTTP error kind")
    message: str = Field(description="names the field and the rule it broke")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx response: ``{"error": {"status", "type", "message"}}``."""

    error: ErrorInfo


class SpacesOut(BaseModel):
    """Shapes, bounds and names (:class:`~netslice.orchestration.agent_api.Spaces`)."""

    scenario: str
    n_envs: int
    action_shape: list[int]
    resources: list[str]
    slices: list[str]
    domains: list[str]
    kpis: list[str]
    slots_per_episode: int
    slot_s: float


class FaultOut(BaseModel):
    """A domain manager that failed; its previous allocation stayed in force."""

    domain: str
    kind: str = Field(description="'error' (apply raised) or 'timeout'")
    message: str
    slot: int


class ObservationOut(BaseModel):
    """:class:`~netslice.orchestration.agent_api.Observation`; arrays as nested lists."""

    slot: int
    hour: list[float | None] = Field(description="(n_envs,)")
    active: list[bool] = Field(description="(n_slices,)")
    allocation: list[Any] = Field(description="(n_envs, n_resources, n_slices)")
    kpis: dict[str, list[Any]] | None = Field(description="every Kpis field, (n_envs, n_slices) unless noted; null")
    cost: list[Any] = Field(description="(n_envs, n_slices)")
    faults: list[FaultOut]


class StepResultOut(BaseModel):
    """:class:`~netslice.orchestration.agent_api.StepResult`; arrays as nested lists."""

    cost: list[Any] = Field(description="(n_envs, n_slices) SLA cost, slice order of spaces.slices")
    usage: list[Any] = Field(description="(n_envs, 4) allocated fraction of each domain")
    modified: list[bool] = Field(description="(n_envs,) capacity enforcement changed the action")
    faults: list[FaultOut]
    kpis: dict[str, list[Any]]
    observation: ObservationOut


class DryRunOut(BaseModel):
    """Outcome of a dry run: the action is valid; what would be enforced."""

    valid: bool
    modified: list[bool] = Field(description="(n_envs,) capacity enforcement would change the action")
    allocation: list[Any] = Field(description="(n_envs, n_resources, n_slices) allocation that would be enforced")


#: What each error status means, for the ``responses=`` of the routes (see :mod:`~netslice.orchestration.api.errors`).
ERROR_STATUSES: dict[int, str] = {
    400: "body is not JSON (MalformedJSON)",
    401: "missing or malformed bearer token",
    403: "wrong token",
    404: "no such resource",
    409: "conflict or admission rejected",
    412: "If-None-Match: * and the resource exists",
    413: "body too large",
    415: "body whose Content-Type is not JSON",
    422: "invalid payload (names the field and the rule)",
    500: "internal error",
    502: "a domain manager failed; the previous allocation stays in force",
}

#: Statuses every route can answer (a bug), and those of every route with an authenticated JSON body.
ANY_ROUTE = (500,)
WRITE = (400, 401, 403, 413, 415, 422, 500)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting the error shape for ``statuses``."""
    return {status: {"model": ErrorResponse, "description": ERROR_STATUSES[status]} for status in sorted(statuses)}


#: ``responses=`` entry documenting the error shape for the usual statuses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = error_responses(400, 401, 403, 404, 409, 422)


class SliceRecordContainer(BaseModel):
    """The read-only ``VsDataContainer`` child of a NetworkSlice (``vsDataType`` ``x-netsliceSliceRecord``)."""

    id: str
    objectClass: str  # noqa: N815 (the 3GPP attribute name)
    attributes: dict[str, Any] = Field(
        description="vsDataType, vsDataFormatVersion and vsData: sliceIndex, sliceName, snssai, nUes, slaTerms, "
        "reservation (per resource) and budgets (per SLA term and domain)"
    )


class NetworkSliceOut(NetworkSlice):
    """A NetworkSlice as GET, PUT and PATCH return it: the MOI plus its read-only slice record."""

    vs_data_container: list[SliceRecordContainer] = Field(alias="VsDataContainer")
