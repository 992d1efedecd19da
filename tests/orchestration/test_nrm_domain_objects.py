"""Transport and compute allocation objects, and the per-slice KPI record (TS 28.552 / TS 28.554 names)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from netslice.network.allocation import DOMAINS
from netslice.orchestration.nrm import (
    MEASUREMENTS,
    SLICE_COMPUTE_VS_DATA_TYPE,
    ComputeDomain,
    SliceComputeContainer,
    SliceKpiRecord,
    SloMetricBound,
    Snssai,
    TransportSliceAllocation,
)

Data = dict[str, Any]


def _invalid(model: type[BaseModel], payload: Any, *fragments: str) -> None:
    with pytest.raises(ValidationError) as err:
        model.model_validate(payload)
    for fragment in fragments:
        assert fragment in str(err.value), f"{fragment!r} not in {err.value}"


# ---------------------------------------------------------------------------------------------- transport


def test_reference_transport_allocation_parses(transport: Data) -> None:
    allocation = TransportSliceAllocation.model_validate(transport)
    assert allocation.snssai == Snssai(sst=1, sd="000001")
    assert allocation.bandwidth_mbps == 200
    assert allocation.max_delay_ms == 5
    assert len(allocation.ep_transport_ref_list) == 2


def test_transport_bounds_are_optional_per_metric(transport: Data) -> None:
    transport["sloPolicy"] = transport["sloPolicy"][:1]
    allocation = TransportSliceAllocation.model_validate(transport)
    assert allocation.bandwidth_mbps == 200
    assert allocation.max_delay_ms is None


@pytest.mark.parametrize(
    ("bound", "fragment"),
    [
        ({"metricType": "one-way-bandwidth", "metricUnit": "Gbps", "bound": 1}, "metricUnit: must be 'Mbps'"),
        ({"metricType": "one-way-delay-maximum", "metricUnit": "us", "bound": 1}, "metricUnit: must be 'ms'"),
        ({"metricType": "one-way-delay-maximum", "metricUnit": "ms", "bound": 0}, "bound: a one-way-delay-maximum"),
        ({"metricType": "one-way-bandwidth", "metricUnit": "Mbps", "bound": -1}, "bound"),
        ({"metricType": "two-way-jitter", "metricUnit": "ms", "bound": 1}, "metricType"),
        ({"metricType": "one-way-bandwidth", "bound": 1}, "metricUnit"),
    ],
)
def test_slo_bound_rules(bound: Data, fragment: str) -> None:
    _invalid(SloMetricBound, bound, fragment)


def test_slo_bound_accepts_zero_bandwidth() -> None:
    bound = SloMetricBound.model_validate({"metricType": "one-way-bandwidth", "metricUnit": "Mbps", "bound": 0})
    assert bound.bound == 0


def test_transport_needs_two_distinct_endpoints(transport: Data) -> None:
    endpoints = transport["epTransportRefList"]
    transport["epTransportRefList"] = endpoints[:1]
    _invalid(TransportSliceAllocation, transport, "epTransportRefList", "at least 2 items")
    transport["epTransportRefList"] = [endpoints[0], endpoints[0]]
    _invalid(TransportSliceAllocation, transport, "epTransportRefList", "unique")
    transport["epTransportRefList"] = [endpoints[0], "gnb1-n3"]
    _invalid(TransportSliceAllocation, transport, "epTransportRefList.1")
    transport["epTransportRefList"] = [*endpoints, "SubNetwork=TN,EP_Transport=edge1-n6"]
    assert len(TransportSliceAllocation.model_validate(transport).ep_transport_ref_list) == 3


def test_transport_needs_one_bound_per_metric_type(transport: Data) -> None:
    bounds = transport["sloPolicy"]
    transport["sloPolicy"] = []
    _invalid(TransportSliceAllocation, transport, "sloPolicy", "at least 1 item")
    transport["sloPolicy"] = [bounds[0], bounds[0] | {"bound": 300}]
    _invalid(TransportSliceAllocation, transport, "sloPolicy.metricType", "unique")


# ---------------------------------------------------------------------------------------------- compute


def test_reference_compute_container_parses(compute: Data) -> None:
    container = SliceComputeContainer.model_validate(compute)
    assert container.rdn == "VsDataContainer=vs-1"
    assert container.attributes.vs_data_type == SLICE_COMPUTE_VS_DATA_TYPE
    data = container.attributes.vs_data
    assert (data.snssai.key, data.v_cpu, data.memory_mib, data.domain) == ("1-000001", 2.5, 4096, None)


def test_compute_domains_are_network_layer_domains(compute: Data) -> None:
    assert {d.value for d in ComputeDomain} <= set(DOMAINS)
    compute["attributes"]["vsData"]["domain"] = "edge"
    assert SliceComputeContainer.model_validate(compute).attributes.vs_data.domain is ComputeDomain.EDGE
    compute["attributes"]["vsData"]["domain"] = "ran"
    _invalid(SliceComputeContainer, compute, "vsData.domain")


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("vsDataType", "x-other", "attributes.vsDataType"),
        ("vsDataFormatVersion", "2.0", "attributes.vsDataFormatVersion"),
        ("vsData", {"snssai": {"sst": 1}, "vCpu": -0.5}, "attributes.vsData.vCpu"),
        ("vsData", {"snssai": {"sst": 1}, "vCpu": 1, "memoryMiB": -1}, "attributes.vsData.memoryMiB"),
        ("vsData", {"vCpu": 1}, "attributes.vsData.snssai"),
    ],
)
def test_compute_container_rules(compute: Data, key: str, value: Any, fragment: str) -> None:
    compute["attributes"][key] = value
    _invalid(SliceComputeContainer, compute, fragment)


def test_compute_container_object_class_is_vs_data_container(compute: Data) -> None:
    compute["objectClass"] = "VsDataContainer"
    assert SliceComputeContainer.model_validate(compute).object_class == "VsDataContainer"
    compute["objectClass"] = "UpfFunction"
    _invalid(SliceComputeContainer, compute, "objectClass")


# ---------------------------------------------------------------------------------------------- KPI record


def test_reference_kpi_record_parses_and_converts_units(kpi_record: Data) -> None:
    record = SliceKpiRecord.model_validate(kpi_record)
    assert record.end_time == datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
    assert record.start_time == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert record.value("DRB.UEThpDl") == 51234.5
    assert record.in_base_unit("DelayE2EDlNs") == pytest.approx(18.0)  # 0.1 ms -> ms
    assert record.in_base_unit("GTP.DelayDlInPsaUpfMean") == pytest.approx(0.35)  # µs -> ms
    assert record.in_base_unit("DRB.RlcPacketDropRateDl") == pytest.approx(1.2e-4)  # 1E-6 -> fraction
    assert record.value("DRB.UEThpUlDist") is None
    assert record.in_base_unit("UTSNSI") is None
    with pytest.raises(KeyError):
        record.in_base_unit("Nonsense")


def test_kpi_record_rejects_unknown_measurement_names(kpi_record: Data) -> None:
    kpi_record["measurements"]["DRB.UEThpDl.SNSSAI"] = 1.0
    _invalid(SliceKpiRecord, kpi_record, "measurements", "unknown measurement name(s) ['DRB.UEThpDl.SNSSAI']")


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "fast"])
def test_kpi_record_rejects_negative_or_non_finite_values(kpi_record: Data, value: Any) -> None:
    kpi_record["measurements"]["DRB.UEThpDl"] = value
    _invalid(SliceKpiRecord, kpi_record, "measurements.`DRB.UEThpDl`")


def test_kpi_record_needs_measurements(kpi_record: Data) -> None:
    kpi_record["measurements"] = {}
    _invalid(SliceKpiRecord, kpi_record, "measurements", "at least 1 item")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("granularityPeriod", 0),
        ("granularityPeriod", 1.5),
        ("endTime", "2025-01-01T00:01:00"),
        ("endTime", "yesterday"),
        ("measObjDn", "NRCellDU 1"),
        ("plmnId", {"mcc": "001"}),
    ],
)
def test_kpi_record_field_rules(kpi_record: Data, field: str, value: Any) -> None:
    kpi_record[field] = value
    _invalid(SliceKpiRecord, kpi_record, field)


def test_kpi_record_accepts_utc_offsets_and_no_plmn(kpi_record: Data) -> None:
    kpi_record["endTime"] = "2025-01-01T01:01:00+01:00"
    del kpi_record["plmnId"]
    record = SliceKpiRecord.model_validate(kpi_record)
    assert record.end_time == datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
    assert record.plmn_id is None


def test_measurement_catalogue_cites_its_spec_and_units() -> None:
    for name, definition in MEASUREMENTS.items():
        assert re.fullmatch(r"TS 28\.55[24] [0-9.]+", definition.source), name
        assert definition.scale > 0, name
        assert definition.unit, name
        assert definition.base_unit, name
    assert MEASUREMENTS["DRB.UEThpDl"].unit == "kbit/s"
    assert MEASUREMENTS["DTSNSI"].unit == "kbit/s"
    assert MEASUREMENTS["DRB.PdcpSduDelayDl"].unit == "0.1 ms"
    assert MEASUREMENTS["VR.VCpuUsageMean"].unit == "%"
