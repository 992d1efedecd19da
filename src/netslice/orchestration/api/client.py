"""HTTP client with the orchestrator's agent interface, so that an agent runs unchanged in-process or remote.

:class:`OrchestratorClient` has the methods an agent uses on an
:class:`~netslice.orchestration.orchestrator.Orchestrator` (``spaces``, ``reset``, ``observation``,
``step``) and returns the same dataclasses (numpy arrays, a :class:`~netslice.network.kernel.Kpis`),
bit-identical to what the served orchestrator computed; plus slice lifecycle calls
(``create_slice``, ``modify_slice``, ``terminate_slice``, ``records``) and ``kpis``. Errors the server
reports are raised again as the matching netslice error class (a 422 ``InvalidAllocationError`` is an
:class:`~netslice.errors.InvalidAllocationError` here too); a rejected token raises :class:`AuthError`.

Usage::

    with OrchestratorClient("http://127.0.0.1:8080", token="...") as orch:
        obs = orch.reset(seed=0)
        result = orch.step(np.full(orch.spaces().action_shape, 0.3))
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any, Self

import httpx
import numpy as np
from numpy.typing import NDArray

from netslice.errors import (
    AdmissionError,
    ConfigError,
    ConflictError,
    InvalidAllocationError,
    NetsliceError,
    NotFoundError,
)
from netslice.network.allocation import RESOURCES
from netslice.orchestration.agent_api import Observation, Spaces, StepResult
from netslice.orchestration.api.codec import (
    decode_array,
    decode_observation,
    decode_spaces,
    decode_step_result,
)
from netslice.orchestration.lifecycle import SliceRecord
from netslice.orchestration.nrm import ServiceProfile, SliceKpiRecord, parse_nrm

FloatArray = NDArray[np.float64]

#: URI prefix of the ProvMnS resources.
PROVMNS = "/ProvMnS/v1/SubNetwork=netslice"


class AuthError(NetsliceError, PermissionError):
    """The server rejected the request's token (HTTP 401 or 403)."""


class RemoteError(NetsliceError):
    """The server answered with an error that has no netslice class (e.g. 500, 502 ``DomainFault``).

    Attributes:
        status: HTTP status.
        type: the ``type`` of the error body.
    """

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(f"HTTP {status} {type_}: {message}")
        self.status = status
        self.type = type_


#: Error ``type`` sent by the server -> the class raised here.
ERROR_CLASSES: dict[str, type[NetsliceError]] = {
    "InvalidAllocationError": InvalidAllocationError,
    "ConfigError": ConfigError,
    "ValidationError": ConfigError,
    "MalformedJSON": ConfigError,
    "UnsupportedMediaType": ConfigError,
    "NotFoundError": NotFoundError,
    "UnknownScenarioError": NotFoundError,
    "ConflictError": ConflictError,
    "AdmissionError": AdmissionError,
    "Unauthorized": AuthError,
    "Forbidden": AuthError,
}


def raise_for_error(response: httpx.Response) -> None:
    """Raise the netslice error matching an error response (nothing for 1xx-3xx).

    Raises:
        NetsliceError: the class named by the body's ``error.type`` (see :data:`ERROR_CLASSES`), else
            :class:`RemoteError`.
    """
    if response.status_code < 400:
        return
    try:
        info = response.json()["error"]
        type_, message = str(info["type"]), str(info["message"])
    except (ValueError, KeyError, TypeError):
        raise RemoteError(response.status_code, "HTTPError", response.text[:500]) from None
    cls = ERROR_CLASSES.get(type_)
    if cls is None:
        raise RemoteError(response.status_code, type_, message)
    raise cls(message)


def slice_record(moi: dict[str, Any]) -> SliceRecord:
    """A :class:`SliceRecord` from a NetworkSlice MOI as the server returns it (with its slice-record VsData).

    Raises:
        ConfigError: the MOI lacks the slice record or its profile is invalid.
    """
    try:
        vs = moi["VsDataContainer"][0]["attributes"]["vsData"]
        profile = parse_nrm(ServiceProfile, moi["attributes"]["serviceProfileList"][0])
        return SliceRecord(
            slice_id=str(moi["id"]),
            index=int(vs["sliceIndex"]),
            profile=profile,
            terms={str(k): None if v is None else float(v) for k, v in vs["slaTerms"].items()},
            n_ues=float(vs["nUes"]),
            reservation=decode_array([vs["reservation"][r] for r in RESOURCES]),
            budgets={str(t): {str(d): float(x) for d, x in b.items()} for t, b in vs["budgets"].items()},
        )
    except (KeyError, IndexError, TypeError) as err:
        raise ConfigError(f"NetworkSlice: the server's MOI lacks the slice record ({err!r})") from None


class OrchestratorClient:
    """The orchestrator's agent interface over HTTP (see the module docstring).

    Args:
        base_url: server root, e.g. ``http://127.0.0.1:8080``.
        token: bearer token for mutating calls (GET calls work without one).
        timeout: seconds per request.
        http: an existing ``httpx.Client`` to use instead (e.g. FastAPI's ``TestClient``); ``base_url`` and
            ``timeout`` are then ignored, and the client is not closed by :meth:`close`.
    """

    def __init__(
        self, base_url: str = "", token: str | None = None, timeout: float = 30.0, *, http: httpx.Client | None = None
    ) -> None:
        self._owned = http is None
        self._http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._spaces: Spaces | None = None

    # ------------------------------------------------------------------------------------ plumbing

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request and decode the answer (``None`` for 204).

        Bodies are encoded with :func:`json.dumps`, which writes floats exactly and non-finite floats as
        ``NaN``/``Infinity`` literals, so that the server rejects those with the orchestrator's own message.
        """
        sent = dict(headers or {})
        content = None
        if method != "GET":
            sent.update(self._headers)
        if body is not None:
            content = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        response = self._http.request(method, path, content=content, headers=sent, params=params)
        raise_for_error(response)
        return None if response.status_code == 204 or not response.content else response.json()

    def close(self) -> None:
        """Close the HTTP connection pool (unless the client was given one)."""
        if self._owned:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------------------- agent API

    def spaces(self) -> Spaces:
        """Shapes, bounds and names (fetched once; they do not change)."""
        if self._spaces is None:
            self._spaces = decode_spaces(self._call("GET", "/ai/v1/spaces"))
        return self._spaces

    def reset(self, seed: int | None = None, mask: NDArray[np.bool_] | None = None) -> Observation:
        """Start new episodes: every env (re-seeding when ``seed`` is given) or those in ``mask``."""
        body = {
            "seed": None if seed is None else int(seed),
            "mask": None if mask is None else np.asarray(mask, dtype=bool).tolist(),
        }
        return decode_observation(self._call("POST", "/ai/v1/episodes", body))

    def observation(self) -> Observation:
        """The latest observation."""
        return decode_observation(self._call("GET", "/ai/v1/observation"))

    def step(self, action: object | None = None) -> StepResult:
        """Run one slot under ``action``, or under the allocation in force when ``action`` is None.

        Raises:
            InvalidAllocationError: the server rejected the action (nothing changed).
        """
        if action is None:
            return decode_step_result(self._call("POST", "/ai/v1/slots"))
        return decode_step_result(self._call("POST", "/ai/v1/actions", {"action": _as_json(action)}))

    def check_action(self, action: object) -> tuple[NDArray[np.bool_], FloatArray]:
        """Dry run: validate ``action`` and return ``(modified, allocation that would be enforced)``; changes nothing.

        Raises:
            InvalidAllocationError: the action breaks a rule.
        """
        out = self._call("POST", "/ai/v1/actions", {"action": _as_json(action), "dryRun": True})
        return decode_array(out["modified"], np.bool_), decode_array(out["allocation"])

    # ----------------------------------------------------------------------------------- lifecycle

    def create_slice(self, slice_id: str, profile: ServiceProfile) -> SliceRecord:
        """Provision a slice after admission control.

        Raises:
            ConflictError: the id exists or the S-NSSAI is already provisioned.
            ConfigError: no scenario slice carries the S-NSSAI.
            AdmissionError: the profile is infeasible (the message gives the reason).
        """
        return self._put_slice(slice_id, profile, {"If-None-Match": "*"})

    def modify_slice(self, slice_id: str, profile: ServiceProfile) -> SliceRecord:
        """Replace a slice's ServiceProfile (same S-NSSAI) after a new admission check.

        Raises:
            NotFoundError: no such slice.
            AdmissionError: the profile is infeasible.
        """
        return self._put_slice(slice_id, profile, {"If-Match": "*"})

    def _put_slice(self, slice_id: str, profile: ServiceProfile, headers: dict[str, str]) -> SliceRecord:
        body = {
            "id": slice_id,
            "objectClass": "NetworkSlice",
            "attributes": {"administrativeState": "UNLOCKED", "serviceProfileList": [profile.to_json_dict()]},
        }
        return slice_record(self._call("PUT", f"{PROVMNS}/NetworkSlice={slice_id}", body, headers))

    def terminate_slice(self, slice_id: str) -> None:
        """Release a slice: it gets no resources from the next slot and costs nothing.

        Raises:
            NotFoundError: no such slice.
        """
        self._call("DELETE", f"{PROVMNS}/NetworkSlice={slice_id}")

    def records(self) -> dict[str, SliceRecord]:
        """Every provisioned slice, by id (the in-process ``Orchestrator.records``)."""
        return {m["id"]: slice_record(m) for m in self._call("GET", f"{PROVMNS}/NetworkSlice")}

    def kpis(self, slice_id: str, env: int = 0) -> SliceKpiRecord:
        """The slice's KPI record of the last slot (TS 28.552/28.554 names).

        Raises:
            NotFoundError: no such slice, or no slot has run since the last reset.
        """
        return parse_nrm(
            SliceKpiRecord, self._call("GET", f"{PROVMNS}/NetworkSlice={slice_id}/kpis", params={"env": env})
        )


def _as_json(action: object) -> Any:
    """An action as nested lists of floats, exactly (anything that is not a real array is sent as is, to be rejected).

    Booleans become 0.0/1.0 as in :func:`~netslice.orchestration.capacity.check_action`.
    """
    try:
        arr = np.asarray(action)
    except ValueError:  # ragged
        return action
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64).tolist()
    return action
