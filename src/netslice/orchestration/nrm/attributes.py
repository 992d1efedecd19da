"""Service attribute types shared by ServiceProfile and the slice-subnet profiles (TS 28.541 v18.6.0 Slice NRM).

Most attributes carry ``servAttrCom``, the GSMA NG.116 (GST) category/tagging/exposure triple. Units follow
TS 28.541 and the 3GPP YANG models: throughput in kbit/s, packet sizes in bytes, periodicity in s, terminal
density in UEs/km².
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import AliasChoices, BeforeValidator, Field, model_validator

from netslice.orchestration.nrm.common import NonEmptyStr, NonNegFloat, NonNegInt, NrmEnum, NrmModel, PosInt


class Category(NrmEnum):
    """GST attribute category (``servAttrCom.category``)."""

    CHARACTER = "CHARACTER"
    SCALABILITY = "SCALABILITY"


class Tagging(NrmEnum):
    """GST attribute tag (``servAttrCom.tagging`` items)."""

    PERFORMANCE = "PERFORMANCE"
    FUNCTION = "FUNCTION"
    OPERATION = "OPERATION"


class Exposure(NrmEnum):
    """How a GST attribute is exposed to the customer (``servAttrCom.exposure``)."""

    API = "API"
    KPI = "KPI"


class Support(NrmEnum):
    """Whether a feature is supported (TS 28.541 ``Support``)."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    SUPPORTED = "SUPPORTED"


class MobilityLevel(NrmEnum):
    """UE mobility level (``uEMobilityLevel``, TS 22.261 clause 6.2.1)."""

    STATIONARY = "STATIONARY"
    NOMADIC = "NOMADIC"
    RESTRICTED_MOBILITY = "RESTRICTED_MOBILITY"
    FULL_MOBILITY = "FULL_MOBILITY"


class SharingLevel(NrmEnum):
    """Sharing level (``networkSliceSharingIndicator``, ``resourceSharingLevel``)."""

    SHARED = "SHARED"
    NON_SHARED = "NON_SHARED"


class SynAvailability(NrmEnum):
    """Synchronicity availability (``synchronicity.availability``)."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    BETWEEN_BS_AND_UE = "BETWEEN_BS_AND_UE"
    BETWEEN_BS_AND_UE_AND_UE_AND_UE = "BETWEEN_BS_AND_UE_AND_UE_AND_UE"


class PositioningMethod(NrmEnum):
    """Positioning method (items of ``positioning.availability``)."""

    CIDE_CID = "CIDE_CID"
    OTDOA = "OTDOA"
    RF_FINGERPRINTING = "RF_FINGERPRINTING"
    AECID = "AECID"
    HYBRID_POSITIONING = "HYBRID_POSITIONING"
    NET_RTK = "NET_RTK"


class PredictionFrequency(NrmEnum):
    """How often a position prediction is made (``positioning.predictionFrequency``)."""

    PERSEC = "PERSEC"
    PERMIN = "PERMIN"
    PERHOUR = "PERHOUR"


class EEKpiType(NrmEnum):
    """Energy-efficiency KPI type (``EEPerfReq.kpiType``): eMBB, URLLC and MIoT variants of TS 28.554."""

    NUMOFBITS = "NUMOFBITS"
    NUMOFBITS_RANBASED = "NUMOFBITS_RANBASED"
    INVOFLATENCY = "INVOFLATENCY"
    NUMOFBITS_MULTIPLIED_INVOFLATENCY = "NUMOFBITS_MULTIPLIED_INVOFLATENCY"
    MAXREGSUBS = "MAXREGSUBS"
    MEANACTIVEUES = "MEANACTIVEUES"


_SIMULTANEOUS_USE_WORDS = {"ZERO": 0, "ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4}


def _simultaneous_use(value: Any) -> Any:
    """Accept the v18.2/v18.3 enum spelling (``ZERO``..``FOUR``) of ``sliceSimultaneousUse`` too."""
    return _SIMULTANEOUS_USE_WORDS.get(value, value) if isinstance(value, str) else value


#: ``sliceSimultaneousUse``: 0..4, the GST "simultaneous use of the network slice" classes.
SliceSimultaneousUse = Annotated[int, BeforeValidator(_simultaneous_use), Field(ge=0, le=4)]


class ServAttrCom(NrmModel):
    """Common GST attribute properties (TS 28.541 ``ServAttrCom``, GSMA NG.116 clause 3)."""

    category: Category | None = None
    tagging: list[Tagging] | None = None
    exposure: Exposure | None = None


class _WithServAttrCom(NrmModel):
    serv_attr_com: ServAttrCom | None = Field(default=None, alias="servAttrCom")


class XLThpt(_WithServAttrCom):
    """Throughput requirement (TS 28.541 ``XLThpt``), in kbit/s, used by dL/uLThptPerSlice(Subnet)/PerUE.

    Rule: ``guaThpt <= maxThpt`` when both are given (a guaranteed rate above the cap cannot be met).
    """

    gua_thpt: NonNegFloat | None = Field(default=None, alias="guaThpt", description="guaranteed, kbit/s")
    max_thpt: NonNegFloat | None = Field(default=None, alias="maxThpt", description="maximum, kbit/s")

    @model_validator(mode="after")
    def _gua_le_max(self) -> Self:
        if self.gua_thpt is not None and self.max_thpt is not None and self.gua_thpt > self.max_thpt:
            raise ValueError(
                f"guaThpt: must be <= maxThpt, got guaThpt={self.gua_thpt:g} kbit/s > maxThpt={self.max_thpt:g} kbit/s"
            )
        return self


class MaxPktSize(_WithServAttrCom):
    """Maximum supported packet size (TS 28.541 ``MaxPktSize``), bytes."""

    maxsize: PosInt | None = Field(default=None, description="bytes")


class MaxNumberofPDUSessions(_WithServAttrCom):
    """Maximum number of PDU sessions (TS 28.541 ``MaxNumberofPDUSessions``)."""

    n_of_pdu_sessions: NonNegInt | None = Field(default=None, alias="nOofPDUSessions")


class KPIMonitoring(_WithServAttrCom):
    """KPIs the customer may monitor (TS 28.541 ``KPIMonitoring``), by TS 28.552/28.554 name."""

    kpi_list: list[NonEmptyStr] | None = Field(default=None, alias="kPIList")


class FeatureSupport(_WithServAttrCom):
    """A supported/not-supported feature (shape of several TS 28.541 attribute types).

    Used for ``DelayTolerance``, ``NBIoT``, ``UserMgmtOpen``, ``NSSAASupport`` and ``nonIPSupport``.
    """

    support: Support | None = None


class DeterministicComm(_WithServAttrCom):
    """Deterministic communication (TS 28.541 ``DeterministicComm``); periodicities in s (GSMA NG.116)."""

    availability: Support | None = None
    periodicity_list: list[PosInt] | None = Field(default=None, alias="periodicityList", description="s")


class RadioSpectrum(_WithServAttrCom):
    """Radio spectrum the slice may use (TS 28.541 ``RadioSpectrum``), NR operating bands such as ``n78``."""

    nr_operating_bands: list[NonEmptyStr] | None = Field(default=None, alias="nROperatingBands")


class SynchronicityRANSubnet(NrmModel):
    """Synchronicity requirement of a slice subnet (TS 28.541 ``SynchronicityRANSubnet``)."""

    availability: SynAvailability | None = None
    accuracy: NonNegFloat | None = None


class Synchronicity(SynchronicityRANSubnet, _WithServAttrCom):
    """Synchronicity requirement of a slice (TS 28.541 ``Synchronicity``)."""


class PositioningRANSubnet(NrmModel):
    """Positioning requirement of a slice subnet (TS 28.541 ``PositioningRANSubnet``).

    ``predictionFrequency`` is also accepted in the all-lower-case spelling of the v18.2/v18.3 OpenAPI.
    """

    availability: list[PositioningMethod] | None = None
    prediction_frequency: PredictionFrequency | None = Field(
        default=None,
        validation_alias=AliasChoices("predictionFrequency", "predictionfrequency"),
        serialization_alias="predictionFrequency",
    )
    accuracy: NonNegFloat | None = None


class Positioning(PositioningRANSubnet, _WithServAttrCom):
    """Positioning requirement of a slice (TS 28.541 ``Positioning``)."""


class V2XCommModels(_WithServAttrCom):
    """V2X communication mode support (TS 28.541 ``V2XCommModels``)."""

    v2x_mode: Support | None = Field(default=None, alias="v2XMode")


class GeoCoordinate(NrmModel):
    """A WGS-84 point (TS 28.541 ``GeoCoordinate``): latitude and longitude in degrees, altitude in m."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude: float | None = None


class GeoArea(NrmModel):
    """An area given as a convex polygon (TS 28.541 ``GeoArea``); a polygon needs at least 3 corners."""

    convex_geo_polygon: list[GeoCoordinate] = Field(alias="convexGeoPolygon", min_length=3)


class TermDensity(_WithServAttrCom):
    """Terminal density (TS 28.541 ``TermDensity``), UEs per km²."""

    density: NonNegInt | None = Field(default=None, description="UEs/km²")


class EEPerfReq(NrmModel):
    """Energy-efficiency performance requirement (TS 28.541 ``EEPerfReq``: eMBB, URLLC or MIoT variant)."""

    kpi_type: EEKpiType = Field(alias="kpiType")
    req: NonNegFloat


class EnergyEfficiency(_WithServAttrCom):
    """Energy-efficiency requirement (TS 28.541 ``EnergyEfficiency``)."""

    performance: EEPerfReq | None = None


class SecFunc(NrmModel):
    """A security function protecting N6 (TS 28.541 ``SecFunc``)."""

    sec_fun_id: str | None = Field(default=None, alias="secFunId")
    sec_fun_type: str | None = Field(default=None, alias="secFunType")
    sec_rules: list[str] | None = Field(default=None, alias="secRules")


class N6Protection(_WithServAttrCom):
    """N6 protection requirement (TS 28.541 ``N6Protection``)."""

    sec_func_list: list[SecFunc] | None = Field(default=None, alias="secFuncList")


class SupportedDataNetworks(_WithServAttrCom):
    """Data networks (DNNs) the slice supports (TS 28.541 ``supportedDataNetworks``)."""

    dnn_list: list[NonEmptyStr] | None = Field(default=None, alias="dnnList")
