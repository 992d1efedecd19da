"""Common NRM types: the strict base model, PLMN id, S-NSSAI, states and the MOI envelope.

Every model forbids unknown keys, is immutable, rejects NaN and infinities, and uses the 3GPP attribute
names verbatim as JSON keys (``rRMPolicyMaxRatio``, ``dLThptPerSlice``, ``plmnInfoList``) through aliases,
while Python code uses snake_case names (``populate_by_name``). Serialise with :meth:`NrmModel.to_json`
(3GPP names, absent attributes left out) and parse with :func:`parse_nrm`, which turns a validation error
into a :class:`~netslice.errors.ConfigError` naming every offending field.

Enumerations accept the spellings of older TS 28.541 v18 OpenAPI files as well (``NON-SHARED``,
``RESTRICTED MOBILITY``, ``FULLY MOBILITY``) and always serialise the underscore form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum, StrEnum
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netslice.errors import ConfigError

#: Distinguished name (``Dn`` of TS 28.623, syntax of TS 32.300), simplified: ``Class=id`` RDNs joined by
#: commas, e.g. ``SubNetwork=RAN,ManagedElement=gNB1,GNBDUFunction=1``.
DN_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*=[^,=]+(,[A-Za-z][A-Za-z0-9_]*=[^,=]+)*$"
Dn = Annotated[str, Field(pattern=DN_PATTERN)]
#: The value of one RDN (the ``id`` of an MOI): no ``,`` or ``=``, since it is spliced into DNs.
RdnValue = Annotated[str, Field(min_length=1, pattern=r"^[^,=]+$")]
#: A percentage in [0, 100].
Percent = Annotated[float, Field(ge=0, le=100)]
NonNegFloat = Annotated[float, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
NonEmptyStr = Annotated[str, Field(min_length=1)]

NrmModelT = TypeVar("NrmModelT", bound="NrmModel")


class NrmModel(BaseModel):
    """Base of every NRM model: unknown keys are errors, instances are immutable, floats are finite.

    To change a model, build a new one (``Model.model_validate({**old.to_json_dict(), ...})``) so that every
    rule is checked again; ``model_copy(update=...)`` would skip validation.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON-ready dict with 3GPP attribute names, leaving out absent (``None``) attributes."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self, *, indent: int | None = None) -> str:
        """JSON text with 3GPP attribute names, leaving out absent (``None``) attributes."""
        return self.model_dump_json(by_alias=True, exclude_none=True, indent=indent)


def format_validation_error(err: ValidationError) -> str:
    """One ``field.path: message`` item per problem, joined by ``; `` (the path uses 3GPP names)."""
    items = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "payload"
        msg = str(e["ctx"]["error"]) if e["type"] == "value_error" and "error" in e.get("ctx", {}) else e["msg"]
        items.append(f"{loc}: {msg}")
    return "; ".join(items)


def parse_nrm(model: type[NrmModelT], payload: str | bytes | Mapping[str, Any], source: str | None = None) -> NrmModelT:
    """Validate a JSON text or an already decoded mapping into ``model``.

    Args:
        model: The NRM model class to build.
        payload: JSON text (``str``/``bytes``) or a decoded JSON object.
        source: Where the payload came from, used as the message prefix (default: the model name).

    Returns:
        The validated model.

    Raises:
        ConfigError: The JSON is malformed or a field breaks a rule; the message names every field.
    """
    try:
        if isinstance(payload, str | bytes):
            return model.model_validate_json(payload)
        return model.model_validate(payload)
    except ValidationError as err:
        raise ConfigError(f"{source or model.__name__}: {format_validation_error(err)}") from None


_LEGACY_SPELLINGS = {
    # TS 28.541 v18.2/v18.3 OpenAPI spellings of MobilityLevel and SynAvailability values.
    "FULLY_MOBILITY": "FULL_MOBILITY",
    "BETWEEN_BS_AND_UE_UE_AND_UE": "BETWEEN_BS_AND_UE_AND_UE_AND_UE",
}


class NrmEnum(StrEnum):
    """String enumeration that also accepts the space/hyphen spellings of older 28.541 OpenAPI files."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        key = re.sub(r"[\s\-&]+", "_", value.strip())
        return cls._value2member_map_.get(_LEGACY_SPELLINGS.get(key, key))


class ResourceType(NrmEnum):
    """Resource an ``RRMPolicyRatio`` applies to (TS 28.541 v18.6.0 NR NRM OpenAPI ``ResourceType``)."""

    PRB = "PRB"
    PRB_UL = "PRB_UL"
    PRB_DL = "PRB_DL"
    RRC_CONNECTED_USERS = "RRC_CONNECTED_USERS"
    DRB = "DRB"


class AdministrativeState(NrmEnum):
    """Administrative state of a NetworkSlice / NetworkSliceSubnet (TS 28.541 v18.6.0 Slice NRM)."""

    LOCKED = "LOCKED"
    UNLOCKED = "UNLOCKED"


class OperationalState(NrmEnum):
    """Operational state of a NetworkSlice / NetworkSliceSubnet (read-only, set by the producer)."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class StandardSst(IntEnum):
    """Standardised slice/service types (TS 23.501 clause 5.15.2.2, Table 5.15.2.2-1)."""

    EMBB = 1
    URLLC = 2
    MIOT = 3
    V2X = 4
    HMTC = 5


#: Highest SST value of the standardised range; 128..255 are operator specific (TS 29.571 ``Snssai``).
MAX_STANDARD_SST = 127
#: SD value meaning "no SD value associated with the SST" (TS 23.003 clause 28.4.2).
NO_SD = "FFFFFF"
_SNSSAI_KEY = re.compile(r"^(\d{1,3})(?:-([0-9A-Fa-f]{6}))?$")


class PlmnId(NrmModel):
    """PLMN identifier (TS 28.623 ``PlmnId``): MCC of 3 digits, MNC of 2 or 3 digits, both strings."""

    mcc: str = Field(pattern=r"^[0-9]{3}$", description="mobile country code, 3 digits")
    mnc: str = Field(pattern=r"^[0-9]{2,3}$", description="mobile network code, 2 or 3 digits")

    @property
    def key(self) -> str:
        """``mcc-mnc``, e.g. ``001-01``."""
        return f"{self.mcc}-{self.mnc}"


class Snssai(NrmModel):
    """S-NSSAI (TS 23.003 clause 28.4.2, TS 29.571 ``Snssai``): SST (8 bits) and optional SD (24 bits, hex).

    The SD is stored upper-case, and the reserved value ``FFFFFF`` ("no SD") is stored as ``None``, so that
    two S-NSSAIs are equal exactly when they denote the same slice, and :attr:`key` identifies it.
    """

    sst: int = Field(strict=True, ge=0, le=255, description="slice/service type, 0..255")
    sd: str | None = Field(default=None, pattern=r"^[A-Fa-f0-9]{6}$", description="slice differentiator, 6 hex")

    @field_validator("sd")
    @classmethod
    def _canonical_sd(cls, sd: str | None) -> str | None:
        if sd is None:
            return None
        sd = sd.upper()
        return None if sd == NO_SD else sd

    @property
    def key(self) -> str:
        """Slice id used across netslice: ``"{sst}-{sd}"`` (e.g. ``1-000001``) or ``"{sst}"`` without SD."""
        return f"{self.sst}-{self.sd}" if self.sd is not None else str(self.sst)

    @property
    def is_standardized(self) -> bool:
        """Whether the SST is in the standardised range 0..127 (TS 29.571)."""
        return self.sst <= MAX_STANDARD_SST

    @property
    def standard_type(self) -> StandardSst | None:
        """The standardised slice/service type (eMBB, URLLC, ...) or ``None`` for other SST values."""
        try:
            return StandardSst(self.sst)
        except ValueError:
            return None

    @classmethod
    def from_key(cls, key: str) -> Snssai:
        """Parse a slice id written as ``"1-000001"`` or ``"1"`` (see :attr:`key`).

        Raises:
            ConfigError: ``key`` is not ``SST`` or ``SST-SD``, or the SST is above 255.
        """
        match = _SNSSAI_KEY.fullmatch(key.strip())
        if match is None:
            raise ConfigError(f"snssai key: must be 'SST' or 'SST-SD' (SD = 6 hex digits), got {key!r}")
        return parse_nrm(cls, {"sst": int(match.group(1)), "sd": match.group(2)}, source=f"snssai key {key!r}")


class PlmnInfo(NrmModel):
    """One PLMN and S-NSSAI served by a slice (TS 28.541 ``PlmnInfo``, an item of ``plmnInfoList``)."""

    plmn_id: PlmnId = Field(alias="plmnId")
    snssai: Snssai


class Tai(NrmModel):
    """Tracking area identity as used in ``coverageAreaTAList``: PLMN digits and a TAC of 4 or 6 hex digits."""

    mcc: str = Field(pattern=r"^[0-9]{3}$")
    mnc: str = Field(pattern=r"^[0-9]{2,3}$")
    tac: str = Field(pattern=r"^([A-Fa-f0-9]{4}|[A-Fa-f0-9]{6})$", description="tracking area code, 4 or 6 hex")


def require_unique(items: list[Any], field: str, what: str) -> None:
    """Raise ``ValueError`` naming ``field`` if ``items`` holds a duplicate (items must be hashable)."""
    seen: set[Any] = set()
    for i, item in enumerate(items):
        if item in seen:
            raise ValueError(f"{field}: {what} must be unique, item {i} repeats {item!r}")
        seen.add(item)


class ManagedObject(NrmModel):
    """Base of an MOI in the TS 28.532 ProvMnS ``Resource`` form ``{id, objectClass, objectInstance, attributes}``.

    Subclasses set :attr:`OBJECT_CLASS` and declare ``attributes``. ``objectClass`` and ``objectInstance`` are
    optional; when given they must agree with the class and ``id`` of the MOI.
    """

    OBJECT_CLASS: ClassVar[str] = ""

    id: RdnValue = Field(description="RDN value of the MOI, e.g. 'rrm-embb'")
    object_class: str | None = Field(default=None, alias="objectClass")
    object_instance: Dn | None = Field(default=None, alias="objectInstance", description="DN of this MOI")

    @model_validator(mode="after")
    def _check_envelope(self) -> Self:
        if self.object_class is not None and self.object_class != self.OBJECT_CLASS:
            raise ValueError(f"objectClass: must be {self.OBJECT_CLASS!r}, got {self.object_class!r}")
        rdn = f"{self.OBJECT_CLASS}={self.id}"
        if self.object_instance is not None and self.object_instance.rsplit(",", 1)[-1] != rdn:
            raise ValueError(f"objectInstance: last RDN must be {rdn!r} (class and id), got {self.object_instance!r}")
        return self

    @property
    def rdn(self) -> str:
        """Relative distinguished name ``Class=id`` of this MOI."""
        return f"{self.OBJECT_CLASS}={self.id}"
