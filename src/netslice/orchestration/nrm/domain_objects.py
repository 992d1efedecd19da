"""Per-domain allocation objects beyond RRMPolicyRatio, and the per-slice KPI record.

3GPP standardises the RAN quota (:class:`~netslice.orchestration.nrm.rrm_policy.RRMPolicyRatio`) but not the
others, so netslice uses:

* transport: :class:`TransportSliceAllocation`, bandwidth and delay bounds between transport endpoints
  (``EP_Transport`` DNs), in the style of the IETF network-slice service model (``slo-policy``/``metric-bound``);
  TS 28.531 clause 5.1.1 only says the NSMF sends latency and bandwidth requirements to the TN manager;
* core and edge compute: :class:`SliceComputeContainer`, a ``VsDataContainer`` (TS 28.623 GenericNrm, the
  sanctioned place for vendor data) of type ``x-sliceCompute`` on a ``UpfFunction`` (core) or on
  ``EASRequirements`` (edge); TS 28.541 has no per-slice CPU quota attribute.

:class:`SliceKpiRecord` is the service-assurance output: measurements keyed by their TS 28.552 / TS 28.554
names, for one S-NSSAI (the structural ``.SNSSAI`` subcounter) over one granularity period, in the units those
specs define (see :data:`MEASUREMENTS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, Literal, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from netslice.orchestration.nrm.common import (
    Dn,
    ManagedObject,
    NonNegFloat,
    NonNegInt,
    NrmModel,
    PlmnId,
    PosInt,
    Snssai,
    require_unique,
)


class SloMetricType(StrEnum):
    """Transport SLO metric (IETF network-slice ``metric-type`` identities; names not verified upstream)."""

    ONE_WAY_BANDWIDTH = "one-way-bandwidth"
    ONE_WAY_DELAY_MAXIMUM = "one-way-delay-maximum"


#: The one unit netslice accepts for each transport SLO metric.
SLO_UNITS: MappingProxyType[SloMetricType, str] = MappingProxyType(
    {SloMetricType.ONE_WAY_BANDWIDTH: "Mbps", SloMetricType.ONE_WAY_DELAY_MAXIMUM: "ms"}
)


class SloMetricBound(NrmModel):
    """One bound of a transport slice: a bandwidth (Mbps) or a maximum one-way delay (ms).

    Rules: ``metricUnit`` is the unit of ``metricType`` (:data:`SLO_UNITS`); a delay bound is positive.
    """

    metric_type: SloMetricType = Field(alias="metricType")
    metric_unit: str = Field(alias="metricUnit")
    bound: NonNegFloat

    @model_validator(mode="after")
    def _unit_and_bound(self) -> Self:
        unit = SLO_UNITS[self.metric_type]
        if self.metric_unit != unit:
            raise ValueError(
                f"metricUnit: must be {unit!r} for metricType {self.metric_type.value}, got {self.metric_unit!r}"
            )
        if self.metric_type is SloMetricType.ONE_WAY_DELAY_MAXIMUM and self.bound == 0:
            raise ValueError("bound: a one-way-delay-maximum bound must be > 0 ms")
        return self


class TransportSliceAllocation(NrmModel):
    """Transport allocation of one slice: SLO bounds between transport endpoints (sent to the TN manager).

    Rules: at least two distinct endpoints (a connection joins two or more), at least one bound, and at most
    one bound per metric type.
    """

    snssai: Snssai
    ep_transport_ref_list: list[Dn] = Field(alias="epTransportRefList", min_length=2)
    slo_policy: list[SloMetricBound] = Field(alias="sloPolicy", min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        require_unique(self.ep_transport_ref_list, "epTransportRefList", "endpoints")
        require_unique([b.metric_type.value for b in self.slo_policy], "sloPolicy.metricType", "metric types")
        return self

    def _bound(self, metric: SloMetricType) -> float | None:
        return next((b.bound for b in self.slo_policy if b.metric_type is metric), None)

    @property
    def bandwidth_mbps(self) -> float | None:
        """The one-way bandwidth bound, Mbps, or ``None``."""
        return self._bound(SloMetricType.ONE_WAY_BANDWIDTH)

    @property
    def max_delay_ms(self) -> float | None:
        """The maximum one-way delay bound, ms, or ``None``."""
        return self._bound(SloMetricType.ONE_WAY_DELAY_MAXIMUM)


class ComputeDomain(StrEnum):
    """Domain of a compute allocation; values as in :data:`netslice.network.allocation.DOMAINS`."""

    CN = "cn"
    EDGE = "edge"


#: ``vsDataType`` of the netslice compute extension (``x-`` marks it as non-standard).
SLICE_COMPUTE_VS_DATA_TYPE = "x-sliceCompute"


class ComputeAllocation(NrmModel):
    """Compute given to one slice on a core (UPF) or edge host: the ``vsData`` of ``x-sliceCompute``.

    ``domain`` is optional since the parent MOI already tells it (UpfFunction: core, EASRequirements: edge).
    """

    snssai: Snssai
    v_cpu: NonNegFloat = Field(alias="vCpu", description="vCPUs (fractional allowed)")
    memory_mib: NonNegInt | None = Field(default=None, alias="memoryMiB", description="MiB")
    domain: ComputeDomain | None = None


class SliceComputeContainerAttributes(NrmModel):
    """Attributes of the ``x-sliceCompute`` VsDataContainer (TS 28.623 ``VsDataContainer`` attributes)."""

    vs_data_type: Literal["x-sliceCompute"] = Field(alias="vsDataType")
    vs_data_format_version: Literal["1.0"] = Field(alias="vsDataFormatVersion")
    vs_data: ComputeAllocation = Field(alias="vsData")


class SliceComputeContainer(ManagedObject):
    """A VsDataContainer MOI carrying one slice's compute allocation (core vCPU or edge vCPU)."""

    OBJECT_CLASS: ClassVar[str] = "VsDataContainer"

    attributes: SliceComputeContainerAttributes


@dataclass(frozen=True)
class MeasurementDef:
    """A measurement netslice knows: its reported unit, the factor to its base unit, and its source.

    Attributes:
        unit: Unit as reported by the spec (e.g. ``0.1 ms``).
        scale: Multiply a reported value by this to get :attr:`base_unit`.
        base_unit: The unit netslice computes with (ms, kbit/s, fraction, %, PRB, UE, octet, ...).
        source: Spec and clause defining the measurement.
    """

    unit: str
    scale: float
    base_unit: str
    source: str


def _m(unit: str, source: str, scale: float = 1.0, base_unit: str | None = None) -> MeasurementDef:
    return MeasurementDef(unit=unit, scale=scale, base_unit=base_unit or unit, source=source)


def _tenth_ms(source: str) -> MeasurementDef:
    return _m("0.1 ms", source, 0.1, "ms")


def _us(source: str) -> MeasurementDef:
    return _m("µs", source, 1e-3, "ms")


def _per_million(source: str) -> MeasurementDef:
    return _m("1E-6", source, 1e-6, "fraction")


#: Measurements a :class:`SliceKpiRecord` may carry, by TS 28.552 / TS 28.554 name (slice subcounter implied).
MEASUREMENTS: MappingProxyType[str, MeasurementDef] = MappingProxyType(
    {
        "RRU.PrbTotDl": _m("%", "TS 28.552 5.1.1.2.1"),
        "RRU.PrbTotUl": _m("%", "TS 28.552 5.1.1.2.2"),
        "RRU.PrbUsedDl": _m("PRB", "TS 28.552 5.1.1.2.5"),
        "RRU.PrbAvailDl": _m("PRB", "TS 28.552 5.1.1.2.6"),
        "RRU.PrbUsedUl": _m("PRB", "TS 28.552 5.1.1.2.7"),
        "RRU.PrbAvailUl": _m("PRB", "TS 28.552 5.1.1.2.8"),
        "DRB.UEThpDl": _m("kbit/s", "TS 28.552 5.1.1.3.1"),
        "DRB.UEThpUl": _m("kbit/s", "TS 28.552 5.1.1.3.3"),
        "DRB.AirIfDelayDl": _tenth_ms("TS 28.552 5.1.1.1.1"),
        "DRB.AirIfDelayUl": _tenth_ms("TS 28.552 5.1.1.1.3"),
        "DRB.RlcDelayUl": _tenth_ms("TS 28.552 5.1.1.1.4"),
        "DRB.PdcpReordDelayUl": _tenth_ms("TS 28.552 5.1.1.1.5"),
        "DRB.PdcpSduDelayDl": _tenth_ms("TS 28.552 5.1.3.3.1"),
        "DRB.PdcpF1DelayDl": _tenth_ms("TS 28.552 5.1.3.3.2"),
        "DRB.RlcSduDelayDl": _tenth_ms("TS 28.552 5.1.3.3.3"),
        "DRB.RlcSduLatencyDl": _tenth_ms("TS 28.552 5.1.3.4.2"),
        "DRB.PacketLossRateUl": _per_million("TS 28.552 5.1.3.1.1"),
        "DRB.PdcpPacketDropRateDl": _per_million("TS 28.552 5.1.3.2.1"),
        "DRB.RlcPacketDropRateDl": _per_million("TS 28.552 5.1.3.2.2"),
        "DRB.PdcpSduVolumeDL": _m("Mbit", "TS 28.552 5.1.2.1", 1000.0, "kbit"),
        "DRB.PdcpSduVolumeUL": _m("Mbit", "TS 28.552 5.1.2.1", 1000.0, "kbit"),
        "DRB.MeanActiveUeDl": _m("UE", "TS 28.552 5.1.1.23"),
        "DRB.MaxActiveUeDl": _m("UE", "TS 28.552 5.1.1.23"),
        "RRC.ConnMean": _m("UE", "TS 28.552 5.1.1.4"),
        "RRC.ConnMax": _m("UE", "TS 28.552 5.1.1.4"),
        "GTP.DelayDlPsaUpfNgranMean": _us("TS 28.552 5.1.1.1.8.1"),
        "GTP.InDataOctN3UPF": _m("octet", "TS 28.552 5.4.1.3"),
        "GTP.OutDataOctN3UPF": _m("octet", "TS 28.552 5.4.1.4"),
        "GTP.DelayDlInPsaUpfMean": _us("TS 28.552 5.4.5"),
        "GTP.DelayUlInPsaUpfMean": _us("TS 28.552 5.4.5"),
        "GTP.DelayUlPsaUpfNgranMean": _us("TS 28.552 5.4.7.1.1"),
        "RM.RegisteredSubNbrMean": _m("UE", "TS 28.552 5.2.1"),
        "SM.QoSflowNbrMean": _m("QoS flow", "TS 28.552 5.3.2.1.7"),
        "VR.VCpuUsageMean": _m("%", "TS 28.552 5.7.1"),
        "VR.VMemoryUsageMean": _m("%", "TS 28.552 5.7.1"),
        "VR.VDiskUsageMean": _m("%", "TS 28.552 5.7.1"),
        "AMFMeanRegNbr": _m("UE", "TS 28.554 6.2.1"),
        "PDUSessionEstSR": _m("%", "TS 28.554 6.2.5"),
        "DelayE2EUlNs": _tenth_ms("TS 28.554 6.3.1.8"),
        "DelayE2EDlNs": _tenth_ms("TS 28.554 6.3.1.8"),
        "UTSNSI": _m("kbit/s", "TS 28.554 6.3.2"),
        "DTSNSI": _m("kbit/s", "TS 28.554 6.3.3"),
    }
)


class SliceKpiRecord(NrmModel):
    """Measurements of one slice (S-NSSAI) on one measured object over one granularity period.

    Rules: ``measObjDn`` is a DN, ``granularityPeriod`` is at least 1 s (TS 28.623 ``PerfMetricJob``),
    ``endTime`` carries a UTC offset, and ``measurements`` holds at least one value, every name is in
    :data:`MEASUREMENTS`, and every value is finite and non-negative.
    """

    snssai: Snssai
    plmn_id: PlmnId | None = Field(default=None, alias="plmnId")
    meas_obj_dn: Dn = Field(alias="measObjDn", description="DN of the measured object, e.g. an NRCellDU")
    granularity_period: PosInt = Field(alias="granularityPeriod", description="s")
    end_time: AwareDatetime = Field(alias="endTime", description="end of the granularity period")
    measurements: dict[str, NonNegFloat] = Field(min_length=1, description="name -> value in the spec's unit")

    @field_validator("measurements")
    @classmethod
    def _known_names(cls, measurements: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(measurements) - set(MEASUREMENTS))
        if unknown:
            raise ValueError(
                f"unknown measurement name(s) {unknown}; known TS 28.552/28.554 names: {', '.join(MEASUREMENTS)}"
            )
        return measurements

    @property
    def start_time(self) -> datetime:
        """Start of the granularity period."""
        return self.end_time - timedelta(seconds=self.granularity_period)

    def value(self, name: str) -> float | None:
        """The measurement in its reported unit, or ``None`` if the record lacks it."""
        return self.measurements.get(name)

    def in_base_unit(self, name: str) -> float | None:
        """The measurement converted to its base unit (e.g. ``0.1 ms`` -> ms), or ``None`` if absent.

        Raises:
            KeyError: ``name`` is not a known measurement.
        """
        definition = MEASUREMENTS[name]
        value = self.measurements.get(name)
        return None if value is None else value * definition.scale
