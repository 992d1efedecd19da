"""NRM slice models: ServiceProfile, SliceProfile and its sub-profiles, NetworkSlice and NetworkSliceSubnet.

Every validation rule has a valid and an invalid payload; every error must name the 3GPP field it is about.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from netslice.orchestration.nrm import (
    AdministrativeState,
    CNSliceSubnetProfile,
    MobilityLevel,
    NetworkSlice,
    NetworkSliceSubnet,
    RANSliceSubnetProfile,
    ServiceProfile,
    SliceProfile,
    Snssai,
    Tai,
    TopSliceSubnetProfile,
    XLThpt,
)

Data = dict[str, Any]


def _invalid(model: type[BaseModel], payload: Any, *fragments: str) -> str:
    """Validating ``payload`` must fail with a message holding every fragment."""
    with pytest.raises(ValidationError) as err:
        model.model_validate(payload)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def _subnet_profile(**extra: Any) -> Data:
    return {
        "sliceProfileId": "slp-1",
        "plmnInfoList": [{"plmnId": {"mcc": "001", "mnc": "01"}, "snssai": {"sst": 1}}],
        **extra,
    }


# ---------------------------------------------------------------------------------------------- ServiceProfile


def test_reference_service_profile_parses_with_units_kept(service_profile: Data) -> None:
    profile = ServiceProfile.model_validate(service_profile)
    assert profile.sst == 1
    assert profile.snssais == [Snssai(sst=1, sd="000001")]
    assert profile.dl_latency == 20.0
    assert profile.dl_thpt_per_slice == XLThpt(gua_thpt=100_000, max_thpt=300_000)
    assert profile.dl_thpt_per_ue is not None
    assert profile.dl_thpt_per_ue.gua_thpt is None
    assert profile.ue_mobility_level is MobilityLevel.NOMADIC


def test_full_service_profile_parses_every_attribute(full_service_profile: Data) -> None:
    profile = ServiceProfile.model_validate(full_service_profile)
    # Nothing is lost or renamed (JSON integers in float fields come back as equal floats).
    assert profile.to_json_dict() == full_service_profile
    assert profile.snssais == [Snssai(sst=2, sd="0000A1"), Snssai(sst=2)]


def test_service_profile_accepts_the_stage_2_name_sst(service_profile: Data) -> None:
    service_profile["sST"] = service_profile.pop("sst")
    assert ServiceProfile.model_validate(service_profile).to_json_dict()["sst"] == 1


@pytest.mark.parametrize("field", ["serviceProfileId", "plmnInfoList", "sst"])
def test_service_profile_requires_its_stage_2_mandatory_attributes(service_profile: Data, field: str) -> None:
    del service_profile[field]
    _invalid(ServiceProfile, service_profile, field, "Field required")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("serviceProfileId", "", "at least 1 character"),
        ("plmnInfoList", [], "at least 1 item"),
        ("maxNumberofUEs", -1, "greater than or equal to 0"),
        ("dLLatency", 0, "greater than 0"),
        ("uLLatency", -5, "greater than 0"),
        ("availability", 100.1, "less than or equal to 100"),
        ("dLReliability", -0.1, "greater than or equal to 0"),
        ("uLReliability", 101, "less than or equal to 100"),
        ("activityFactor", 150, "less than or equal to 100"),
        ("uESpeed", -1, "greater than or equal to 0"),
        ("jitter", -1, "greater than or equal to 0"),
        ("survivalTime", -1, "greater than or equal to 0"),
        ("maxDLDataVolume", -1, "greater than or equal to 0"),
        ("dLLatency", "fast", "valid number"),
    ],
)
def test_service_profile_rejects_out_of_range_attributes(
    service_profile: Data, field: str, value: Any, fragment: str
) -> None:
    service_profile[field] = value
    _invalid(ServiceProfile, service_profile, field, fragment)


def test_service_profile_boundary_values_are_accepted(service_profile: Data) -> None:
    service_profile |= {"availability": 100, "dLReliability": 0, "activityFactor": 0, "maxNumberofUEs": 0}
    assert ServiceProfile.model_validate(service_profile).availability == 100


def test_service_profile_rejects_guaranteed_above_max_throughput_naming_the_attribute(service_profile: Data) -> None:
    service_profile["uLThptPerSlice"] = {"guaThpt": 60_000, "maxThpt": 50_000}
    _invalid(ServiceProfile, service_profile, "uLThptPerSlice", "guaThpt: must be <= maxThpt")


@pytest.mark.parametrize(
    ("attribute", "payload", "fragment"),
    [
        ("dLMaxPktSize", {"maxsize": 0}, "maxsize"),
        ("dLDeterministicComm", {"periodicityList": [0]}, "periodicityList"),
        ("termDensity", {"density": -1}, "density"),
        ("maxNumberofPDUSessions", {"nOofPDUSessions": -1}, "nOofPDUSessions"),
        ("energyEfficiency", {"performance": {"req": 1}}, "performance.kpiType"),
        ("kPIMonitoring", {"kPIList": [""]}, "kPIList"),
        ("delayTolerance", {"servAttrCom": {"category": "COLOUR"}}, "servAttrCom.category"),
        ("synchronicity", {"accuracy": -1}, "accuracy"),
    ],
)
def test_service_profile_nested_attribute_errors_name_the_path(
    service_profile: Data, attribute: str, payload: Data, fragment: str
) -> None:
    service_profile[attribute] = payload
    _invalid(ServiceProfile, service_profile, f"{attribute}.{fragment}")


def test_service_profile_sst_must_match_the_served_snssais(service_profile: Data) -> None:
    service_profile["plmnInfoList"].append({"plmnId": {"mcc": "001", "mnc": "01"}, "snssai": {"sst": 2}})
    _invalid(ServiceProfile, service_profile, "plmnInfoList.1.snssai.sst", "sst=1")


def test_service_profile_plmn_info_entries_are_unique(service_profile: Data) -> None:
    service_profile["plmnInfoList"].append(copy.deepcopy(service_profile["plmnInfoList"][0]))
    _invalid(ServiceProfile, service_profile, "plmnInfoList", "unique")
    service_profile["plmnInfoList"][1]["snssai"]["sd"] = "000002"
    assert len(ServiceProfile.model_validate(service_profile).snssais) == 2


def test_service_profile_rejects_rel_16_names(service_profile: Data) -> None:
    service_profile["latency"] = 20
    _invalid(ServiceProfile, service_profile, "latency", "Extra inputs are not permitted")


# ---------------------------------------------------------------------------------------------- SliceProfile


def test_slice_profile_accepts_the_v18_3_spelling_service_profile_id() -> None:
    payload = _subnet_profile()
    payload["serviceProfileId"] = payload.pop("sliceProfileId")
    profile = SliceProfile.model_validate(payload)
    assert profile.slice_profile_id == "slp-1"
    assert "sliceProfileId" in profile.to_json_dict()


def test_slice_profile_requires_id_and_plmn_info() -> None:
    _invalid(SliceProfile, {"plmnInfoList": _subnet_profile()["plmnInfoList"]}, "sliceProfileId", "Field required")
    _invalid(SliceProfile, _subnet_profile(plmnInfoList=[]), "plmnInfoList", "at least 1 item")
    duplicated = _subnet_profile()
    duplicated["plmnInfoList"] *= 2
    _invalid(SliceProfile, duplicated, "plmnInfoList", "unique")


def test_top_subnet_profile_latency_is_an_integer_but_ran_and_cn_take_numbers() -> None:
    assert RANSliceSubnetProfile.model_validate({"dLLatency": 8.5}).dl_latency == 8.5
    assert CNSliceSubnetProfile.model_validate({"uLLatency": 0.5}).ul_latency == 0.5
    assert TopSliceSubnetProfile.model_validate({"dLLatency": 8}).dl_latency == 8
    _invalid(TopSliceSubnetProfile, {"dLLatency": 8.5}, "dLLatency", "valid integer")
    _invalid(RANSliceSubnetProfile, {"dLLatency": 0}, "dLLatency", "greater than 0")


def test_subnet_profiles_have_their_own_attribute_sets() -> None:
    assert CNSliceSubnetProfile.model_validate({"maxNumberOfPDUSessions": 10}).max_number_of_pdu_sessions == 10
    _invalid(CNSliceSubnetProfile, {"maxNumberofPDUSessions": 10}, "maxNumberofPDUSessions", "Extra inputs")
    _invalid(CNSliceSubnetProfile, {"uEMobilityLevel": "NOMADIC"}, "uEMobilityLevel", "Extra inputs")
    _invalid(RANSliceSubnetProfile, {"n6Protection": {}}, "n6Protection", "Extra inputs")
    assert RANSliceSubnetProfile.model_validate({"energyEfficiency": 3.5}).energy_efficiency == 3.5
    _invalid(RANSliceSubnetProfile, {"energyEfficiency": {"performance": None}}, "energyEfficiency")
    top = TopSliceSubnetProfile.model_validate(
        {"energyEfficiency": {"performance": {"kpiType": "NUMOFBITS", "req": 5}}, "maxNumberOfPDUSessions": 3}
    )
    assert top.energy_efficiency is not None
    assert top.max_number_of_pdu_sessions == 3


def test_ran_subnet_profile_activity_factor_is_an_integer_percentage() -> None:
    assert RANSliceSubnetProfile.model_validate({"activityFactor": 100}).activity_factor == 100
    _invalid(RANSliceSubnetProfile, {"activityFactor": 101}, "activityFactor")
    _invalid(RANSliceSubnetProfile, {"activityFactor": 50.5}, "activityFactor")


# ---------------------------------------------------------------------------------------------- NetworkSlice(Subnet)


def test_reference_network_slice_parses(network_slice: Data) -> None:
    ns = NetworkSlice.model_validate(network_slice)
    assert ns.id == "ns-embb-1"
    assert ns.rdn == "NetworkSlice=ns-embb-1"
    assert ns.attributes.administrative_state is AdministrativeState.UNLOCKED
    assert ns.attributes.operational_state is None
    assert ns.attributes.service_profile_list[0].service_profile_id == "sp-embb-1"


def test_network_slice_starts_locked_by_default(network_slice: Data) -> None:
    del network_slice["attributes"]["administrativeState"]
    ns = NetworkSlice.model_validate(network_slice)
    assert ns.attributes.administrative_state is AdministrativeState.LOCKED


def test_network_slice_needs_profiles_with_unique_ids(network_slice: Data) -> None:
    profiles = network_slice["attributes"]["serviceProfileList"]
    network_slice["attributes"]["serviceProfileList"] = []
    _invalid(NetworkSlice, network_slice, "attributes.serviceProfileList", "at least 1 item")
    network_slice["attributes"]["serviceProfileList"] = [profiles[0], copy.deepcopy(profiles[0])]
    _invalid(NetworkSlice, network_slice, "serviceProfileList.serviceProfileId", "unique")
    network_slice["attributes"]["serviceProfileList"][1]["serviceProfileId"] = "sp-embb-2"
    assert len(NetworkSlice.model_validate(network_slice).attributes.service_profile_list) == 2


@pytest.mark.parametrize("dn", ["SubNetwork=1,NetworkSliceSubnet=nss-1", "NetworkSliceSubnet=a b"])
def test_network_slice_subnet_ref_accepts_dns(network_slice: Data, dn: str) -> None:
    network_slice["attributes"]["networkSliceSubnetRef"] = dn
    assert NetworkSlice.model_validate(network_slice).attributes.network_slice_subnet_ref == dn


@pytest.mark.parametrize("dn", ["nss-1", "SubNetwork=1,", "=1", "SubNetwork=1,,X=2", ""])
def test_network_slice_subnet_ref_rejects_non_dns(network_slice: Data, dn: str) -> None:
    network_slice["attributes"]["networkSliceSubnetRef"] = dn
    _invalid(NetworkSlice, network_slice, "networkSliceSubnetRef")


def test_network_slice_states_are_enumerations(network_slice: Data) -> None:
    network_slice["attributes"]["operationalState"] = "ENABLED"
    assert NetworkSlice.model_validate(network_slice).attributes.operational_state == "ENABLED"
    network_slice["attributes"]["operationalState"] = "RUNNING"
    _invalid(NetworkSlice, network_slice, "operationalState")
    network_slice["attributes"]["operationalState"] = "ENABLED"
    network_slice["attributes"]["administrativeState"] = "SHUT"
    _invalid(NetworkSlice, network_slice, "administrativeState")


def test_moi_envelope_object_class_and_instance_must_match(network_slice: Data) -> None:
    network_slice["objectInstance"] = "SubNetwork=Operator1,NetworkSlice=ns-embb-1"
    assert NetworkSlice.model_validate(network_slice).object_instance is not None
    network_slice["objectInstance"] = "SubNetwork=Operator1,NetworkSlice=other"
    _invalid(NetworkSlice, network_slice, "objectInstance", "NetworkSlice=ns-embb-1")
    del network_slice["objectInstance"]
    network_slice["objectClass"] = "NetworkSliceSubnet"
    _invalid(NetworkSlice, network_slice, "objectClass", "'NetworkSlice'")
    del network_slice["objectClass"]
    assert NetworkSlice.model_validate(network_slice).object_class is None


@pytest.mark.parametrize("moi_id", ["", "a,b", "a=b"])
def test_moi_id_must_be_a_usable_rdn_value(network_slice: Data, moi_id: str) -> None:
    network_slice["id"] = moi_id
    _invalid(NetworkSlice, network_slice, "id")


def test_reference_network_slice_subnet_parses(network_slice_subnet: Data) -> None:
    nss = NetworkSliceSubnet.model_validate(network_slice_subnet)
    (profile,) = nss.attributes.slice_profile_list
    assert profile.ran_slice_subnet_profile is not None
    assert profile.ran_slice_subnet_profile.dl_latency == 8
    assert profile.ran_slice_subnet_profile.coverage_area_ta_list == [Tai(mcc="001", mnc="01", tac="000001")]


@pytest.mark.parametrize(
    ("subnet_type", "sub_profile"),
    [
        ("RAN_SLICESUBNET", "rANSliceSubnetProfile"),
        ("CN_SLICESUBNET", "cNSliceSubnetProfile"),
        ("TOP_SLICESUBNET", "topSliceSubnetProfile"),
    ],
)
def test_network_slice_subnet_type_requires_its_sub_profile(subnet_type: str, sub_profile: str) -> None:
    payload = {
        "id": "nss-1",
        "attributes": {"networkSliceSubnetType": subnet_type, "sliceProfileList": [_subnet_profile()]},
    }
    _invalid(NetworkSliceSubnet, payload, f"sliceProfileList.0.{sub_profile}", subnet_type)
    payload["attributes"]["sliceProfileList"] = [_subnet_profile(**{sub_profile: {}})]
    assert NetworkSliceSubnet.model_validate(payload).attributes.network_slice_subnet_type == subnet_type
    del payload["attributes"]["networkSliceSubnetType"]
    payload["attributes"]["sliceProfileList"] = [_subnet_profile()]
    assert NetworkSliceSubnet.model_validate(payload).attributes.network_slice_subnet_type is None


def test_network_slice_subnet_profiles_and_priority(network_slice_subnet: Data) -> None:
    attributes = network_slice_subnet["attributes"]
    attributes["priorityLabel"] = 0
    assert NetworkSliceSubnet.model_validate(network_slice_subnet).attributes.priority_label == 0
    attributes["priorityLabel"] = -1
    _invalid(NetworkSliceSubnet, network_slice_subnet, "priorityLabel")
    attributes["priorityLabel"] = 1
    attributes["sliceProfileList"].append(copy.deepcopy(attributes["sliceProfileList"][0]))
    _invalid(NetworkSliceSubnet, network_slice_subnet, "sliceProfileList.sliceProfileId", "unique")
    attributes["sliceProfileList"] = []
    _invalid(NetworkSliceSubnet, network_slice_subnet, "sliceProfileList", "at least 1 item")
