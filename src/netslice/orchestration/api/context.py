"""What every route of one app shares: the orchestrator, the lock serialising access to it, the token.

Security: every mutating request (PUT, PATCH, DELETE, POST) carries ``Authorization: Bearer <token>``.
A missing or malformed header gives 401 with ``WWW-Authenticate: Bearer``; a wrong token gives 403
(compared in constant time). GET requests are open. Authorisation is checked before the body is read
(by :class:`~netslice.orchestration.api.limits.RequestGuard`, from the headers alone).
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from netslice.errors import NotFoundError
from netslice.orchestration.api.errors import ApiError
from netslice.orchestration.api.metrics import ApiMetrics
from netslice.orchestration.lifecycle import SliceRecord
from netslice.orchestration.nrm import AdministrativeState
from netslice.orchestration.orchestrator import Orchestrator

#: The bearer scheme (documented in the OpenAPI schema; the check itself is :meth:`ApiContext.authorize`).
bearer = HTTPBearer(auto_error=False, description="the token given to `netslice serve` (--token)")


@dataclass
class ApiContext:
    """State shared by the routes of one app.

    Attributes:
        orchestrator: the served orchestrator; touch it only while holding :attr:`lock`.
        lock: serialises every access to the orchestrator (routes run in a thread pool).
        token: the bearer token of mutating requests.
        metrics: the app's Prometheus registry and instruments.
        admin_state: ``administrativeState`` of each NetworkSlice, as last set through the API
            (slices provisioned at start-up are UNLOCKED). netslice records it and does not act on it.
            Read it with :meth:`administrative_state`, set it with :meth:`set_administrative_state`.
    """

    orchestrator: Orchestrator
    lock: threading.Lock
    token: str
    metrics: ApiMetrics
    admin_state: dict[str, AdministrativeState] = field(default_factory=dict)
    # The slice record each state was set for: a slice released and provisioned again under the same id (by a
    # request process, a seeded reset, or outside the API) is another slice, which starts UNLOCKED.
    _admin_of: dict[str, SliceRecord] = field(default_factory=dict, repr=False)

    def administrative_state(self, slice_id: str) -> AdministrativeState:
        """The NetworkSlice's ``administrativeState``: as set through the API for this very slice, else UNLOCKED.

        Call while holding the lock.
        """
        record = self.orchestrator.records.get(slice_id)
        if record is None or self._admin_of.get(slice_id) is not record:
            return AdministrativeState.UNLOCKED
        return self.admin_state.get(slice_id, AdministrativeState.UNLOCKED)

    def set_administrative_state(self, slice_id: str, state: AdministrativeState) -> None:
        """Record the ``administrativeState`` a request set on a provisioned slice (call while holding the lock)."""
        records = self.orchestrator.records
        for gone in [sid for sid in self.admin_state if sid not in records]:  # released since: forget them
            self.admin_state.pop(gone, None)
            self._admin_of.pop(gone, None)
        self.admin_state[slice_id] = state
        self._admin_of[slice_id] = records[slice_id]

    def forget_administrative_state(self, slice_id: str) -> None:
        """Forget a released slice's ``administrativeState``."""
        self.admin_state.pop(slice_id, None)
        self._admin_of.pop(slice_id, None)

    def check_token(self, authorization: str | None) -> None:
        """Check an ``Authorization`` header value (``None``: no header) against the token.

        Parsed as FastAPI's :class:`~fastapi.security.HTTPBearer` does: scheme ``Bearer`` (any case), one
        space, the credentials.

        Raises:
            ApiError: 401 without a well-formed bearer header, 403 with a wrong token.
        """
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
            raise ApiError(
                401, "Unauthorized", "Authorization: send the header 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        if not hmac.compare_digest(credentials.encode(), self.token.encode()):
            raise ApiError(
                403, "Forbidden", "Authorization: the bearer token is not valid",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )  # fmt: skip

    async def authorize(self, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> None:
        """FastAPI dependency of every mutating route (async: no thread-pool hop; the check is cheap).

        :class:`~netslice.orchestration.api.limits.RequestGuard` runs the same check before the body is
        read; this dependency keeps a route safe if it is mounted without the guard.

        Raises:
            ApiError: 401 without a well-formed bearer header, 403 with a wrong token.
        """
        self.check_token(None if credentials is None else f"{credentials.scheme} {credentials.credentials}")

    def slice_index(self, slice_id: str) -> int:
        """The scenario slice index of a provisioned NetworkSlice (call while holding the lock).

        Raises:
            NotFoundError: no NetworkSlice has this id.
        """
        record = self.orchestrator.records.get(slice_id)
        if record is None:
            raise NotFoundError(f"NetworkSlice={slice_id}: no such slice")
        return record.index
