"""Typed errors shared by every layer of netslice.

Every error raised on bad input names the offending field and the rule it broke, so that a
user can fix a YAML file, an allocation or an API payload without reading the source.
"""

from __future__ import annotations


class NetsliceError(Exception):
    """Base class of every error netslice raises on purpose."""


class ConfigError(NetsliceError, ValueError):
    """A scenario or configuration value is invalid (unknown key, impossible value)."""


class InvalidAllocationError(NetsliceError, ValueError):
    """An allocation (action) is malformed: wrong shape, NaN/inf, out of range or over capacity."""


class UnknownScenarioError(NetsliceError, KeyError):
    """A scenario name is not in the registry."""

    def __str__(self) -> str:
        # KeyError quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else "unknown scenario"


class NotFoundError(NetsliceError, LookupError):
    """A named object (slice, policy, domain) does not exist."""


class ConflictError(NetsliceError, ValueError):
    """The request conflicts with the current state (an id or S-NSSAI already in use)."""


class AdmissionError(NetsliceError, ValueError):
    """Admission control rejected a slice: its SLA cannot be met with the remaining capacity."""
