"""NRM models: common types, attribute types, and for every model parsing, round trips and unknown keys.

Every validation rule has a valid and an invalid payload; every error must name the 3GPP field it is about.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from netslice.errors import ConfigError
from netslice.orchestration.nrm import (
    GeoArea,
    MobilityLevel,
    NetworkSlice,
    NetworkSliceSubnet,
    PlmnId,
    PositioningRANSubnet,
    RANSliceSubnetProfile,
    RRMPolicyRatio,
    ServiceProfile,
    SharingLevel,
    SliceComputeContainer,
    SliceKpiRecord,
    Snssai,
    StandardSst,
    SynAvailability,
    Tai,
    TransportSliceAllocation,
    XLThpt,
    parse_nrm,
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


# ---------------------------------------------------------------------------------------------- PLMN, S-NSSAI, TAI


@pytest.mark.parametrize(("mcc", "mnc"), [("001", "01"), ("999", "999"), ("310", "260")])
def test_plmn_id_accepts_3_digit_mcc_and_2_or_3_digit_mnc(mcc: str, mnc: str) -> None:
    plmn = PlmnId.model_validate({"mcc": mcc, "mnc": mnc})
    assert plmn.key == f"{mcc}-{mnc}"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"mcc": "01", "mnc": "01"}, "mcc"),
        ({"mcc": "0011", "mnc": "01"}, "mcc"),
        ({"mcc": "abc", "mnc": "01"}, "mcc"),
        ({"mcc": 1, "mnc": "01"}, "mcc"),
        ({"mcc": "001", "mnc": "1"}, "mnc"),
        ({"mcc": "001", "mnc": "0001"}, "mnc"),
        ({"mcc": "001"}, "mnc"),
    ],
)
def test_plmn_id_rejects_bad_digits_naming_the_field(payload: Data, field: str) -> None:
    _invalid(PlmnId, payload, field)


@pytest.mark.parametrize("sst", [0, 1, 127, 128, 255])
def test_snssai_accepts_sst_0_to_255(sst: int) -> None:
    assert Snssai.model_validate({"sst": sst}).key == str(sst)


@pytest.mark.parametrize("sst", [-1, 256, "1", 1.0, True, None])
def test_snssai_rejects_sst_outside_0_to_255_or_not_an_integer(sst: Any) -> None:
    _invalid(Snssai, {"sst": sst}, "sst")


@pytest.mark.parametrize(("sd", "stored"), [("000001", "000001"), ("abcdef", "ABCDEF"), ("FFFFFF", None)])
def test_snssai_sd_is_6_hex_digits_stored_upper_case_with_ffffff_meaning_none(sd: str, stored: str | None) -> None:
    assert Snssai.model_validate({"sst": 1, "sd": sd}).sd == stored


@pytest.mark.parametrize("sd", ["12345", "1234567", "GGGGGG", "", 1])
def test_snssai_rejects_sd_that_is_not_6_hex_digits(sd: Any) -> None:
    _invalid(Snssai, {"sst": 1, "sd": sd}, "sd")


def test_snssai_equality_and_key_follow_the_slice_not_the_spelling() -> None:
    assert Snssai(sst=1, sd="abcdef") == Snssai(sst=1, sd="ABCDEF")
    assert Snssai(sst=1, sd="ffffff") == Snssai(sst=1)
    assert hash(Snssai(sst=1, sd="abcdef")) == hash(Snssai(sst=1, sd="ABCDEF"))
    assert Snssai(sst=1, sd="000001").key == "1-000001"
    assert Snssai(sst=1).key == "1"


@pytest.mark.parametrize("key", ["1-000001", "1", "255-ABCDEF", "2-00000a"])
def test_snssai_from_key_inverts_key(key: str) -> None:
    snssai = Snssai.from_key(key)
    assert snssai.key == key.upper()
    assert Snssai.from_key(snssai.key) == snssai


@pytest.mark.parametrize(("key", "fragment"), [("", "SST-SD"), ("1-12", "SST-SD"), ("x", "SST-SD"), ("256", "sst")])
def test_snssai_from_key_rejects_malformed_keys(key: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Snssai.from_key(key)


def test_snssai_standard_types_follow_ts_23_501() -> None:
    assert [Snssai(sst=v).standard_type for v in (1, 2, 3, 4, 5)] == list(StandardSst)
    assert StandardSst.EMBB == 1
    assert StandardSst.URLLC == 2
    assert StandardSst.MIOT == 3
    assert Snssai(sst=128).standard_type is None
    assert Snssai(sst=127).is_standardized
    assert not Snssai(sst=128).is_standardized


@pytest.mark.parametrize("tac", ["0001", "00000A", "abcd"])
def test_tai_accepts_4_or_6_hex_digit_tac(tac: str) -> None:
    assert Tai.model_validate({"mcc": "001", "mnc": "01", "tac": tac}).tac == tac


@pytest.mark.parametrize("tac", ["001", "00001", "0000001", "ZZZZ"])
def test_tai_rejects_other_tac_lengths(tac: str) -> None:
    _invalid(Tai, {"mcc": "001", "mnc": "01", "tac": tac}, "tac")


# ---------------------------------------------------------------------------------------------- attribute types


def test_xlthpt_accepts_guaranteed_up_to_maximum() -> None:
    assert XLThpt.model_validate({"guaThpt": 5, "maxThpt": 5}).gua_thpt == 5
    assert XLThpt.model_validate({"guaThpt": 5}).max_thpt is None
    assert XLThpt.model_validate({"maxThpt": 0}).max_thpt == 0


def test_xlthpt_rejects_guaranteed_above_maximum_naming_both() -> None:
    _invalid(XLThpt, {"guaThpt": 6, "maxThpt": 5}, "guaThpt", "maxThpt", "kbit/s")


@pytest.mark.parametrize("field", ["guaThpt", "maxThpt"])
@pytest.mark.parametrize("value", [-1, float("nan"), float("inf")])
def test_xlthpt_rejects_negative_or_non_finite_rates(field: str, value: float) -> None:
    _invalid(XLThpt, {field: value}, field)


def test_geo_area_needs_three_corners_in_range() -> None:
    corner = {"latitude": 0.0, "longitude": 0.0}
    assert len(GeoArea.model_validate({"convexGeoPolygon": [corner] * 3}).convex_geo_polygon) == 3
    _invalid(GeoArea, {"convexGeoPolygon": [corner] * 2}, "convexGeoPolygon", "at least 3")
    _invalid(GeoArea, {"convexGeoPolygon": [{"latitude": 91, "longitude": 0}] * 3}, "latitude")
    _invalid(GeoArea, {"convexGeoPolygon": [{"latitude": 0, "longitude": -181}] * 3}, "longitude")


def test_enums_accept_older_28_541_spellings_and_serialise_the_current_one() -> None:
    assert MobilityLevel("FULLY MOBILITY") is MobilityLevel.FULL_MOBILITY
    assert MobilityLevel("RESTRICTED MOBILITY") is MobilityLevel.RESTRICTED_MOBILITY
    assert SharingLevel("NON-SHARED") is SharingLevel.NON_SHARED
    assert SynAvailability("BETWEEN BS AND UE & UE AND UE") is SynAvailability.BETWEEN_BS_AND_UE_AND_UE_AND_UE
    profile = RANSliceSubnetProfile.model_validate({"resourceSharingLevel": "NON-SHARED"})
    assert profile.to_json_dict() == {"resourceSharingLevel": "NON_SHARED"}


def test_enums_reject_unknown_values_naming_the_field() -> None:
    _invalid(RANSliceSubnetProfile, {"uEMobilityLevel": "FLYING"}, "uEMobilityLevel")
    with pytest.raises(ValueError, match="FLYING"):
        MobilityLevel("FLYING")


def test_prediction_frequency_accepts_the_lower_case_v18_3_spelling() -> None:
    legacy = PositioningRANSubnet.model_validate({"predictionfrequency": "PERMIN"})
    assert legacy.to_json_dict() == {"predictionFrequency": "PERMIN"}
    assert PositioningRANSubnet.model_validate(legacy.to_json_dict()) == legacy


@pytest.mark.parametrize(("value", "stored"), [(0, 0), (4, 4), ("TWO", 2), ("ZERO", 0)])
def test_slice_simultaneous_use_is_0_to_4_or_its_v18_2_word(value: Any, stored: int) -> None:
    assert RANSliceSubnetProfile.model_validate({"sliceSimultaneousUse": value}).slice_simultaneous_use == stored


@pytest.mark.parametrize("value", [5, -1, "FIVE"])
def test_slice_simultaneous_use_rejects_other_values(value: Any) -> None:
    _invalid(RANSliceSubnetProfile, {"sliceSimultaneousUse": value}, "sliceSimultaneousUse")


# ---------------------------------------------------------------------------------------------- every model


_MODELS = {
    "service_profile": ServiceProfile,
    "full_service_profile": ServiceProfile,
    "network_slice": NetworkSlice,
    "network_slice_subnet": NetworkSliceSubnet,
    "rrm_policy": RRMPolicyRatio,
    "transport": TransportSliceAllocation,
    "compute": SliceComputeContainer,
    "kpi_record": SliceKpiRecord,
}


@pytest.mark.parametrize("name", list(_MODELS))
def test_round_trip_model_json_model_is_identity(name: str, request: pytest.FixtureRequest) -> None:
    model = _MODELS[name]
    original = model.model_validate(request.getfixturevalue(name))
    assert model.model_validate_json(original.model_dump_json(by_alias=True)) == original
    assert model.model_validate_json(original.to_json()) == original
    assert model.model_validate(original.model_dump(by_alias=True)) == original
    assert model.model_validate(original.model_dump()) == original  # Python names are accepted too
    assert model.model_validate(json.loads(original.to_json(indent=2))).to_json() == original.to_json()


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("service_profile", ()),
        ("service_profile", ("dLThptPerSlice",)),
        ("service_profile", ("plmnInfoList", 0, "snssai")),
        ("network_slice", ()),
        ("network_slice", ("attributes",)),
        ("network_slice_subnet", ("attributes", "sliceProfileList", 0, "rANSliceSubnetProfile")),
        ("rrm_policy", ("attributes",)),
        ("rrm_policy", ("attributes", "rRMPolicyMemberList", 0, "plmnId")),
        ("transport", ("sloPolicy", 1)),
        ("compute", ("attributes", "vsData")),
        ("kpi_record", ()),
    ],
)
def test_unknown_keys_are_rejected_naming_the_key(
    name: str, path: tuple[str | int, ...], request: pytest.FixtureRequest
) -> None:
    payload = request.getfixturevalue(name)
    target = payload
    for step in path:
        target = target[step]
    target["rRMPolicyMaxRatioo"] = 1
    message = _invalid(_MODELS[name], payload, "rRMPolicyMaxRatioo", "Extra inputs are not permitted")
    assert ".".join(str(p) for p in (*path, "rRMPolicyMaxRatioo")) in message


@pytest.mark.parametrize("name", list(_MODELS))
@pytest.mark.parametrize("text", ["", "{", '{"id": "x",}', "[1, 2]", "null", "{'id': 'x'}", '{"id": NaN}'])
def test_malformed_json_is_rejected(name: str, text: str) -> None:
    with pytest.raises(ValidationError):
        _MODELS[name].model_validate_json(text)


def test_parse_nrm_raises_config_error_naming_every_field(rrm_policy: Data) -> None:
    rrm_policy["attributes"]["rRMPolicyMaxRatio"] = 101
    rrm_policy["attributes"]["color"] = "red"
    with pytest.raises(ConfigError) as err:
        parse_nrm(RRMPolicyRatio, json.dumps(rrm_policy), source="PUT RRMPolicyRatio=rrm-embb")
    message = str(err.value)
    assert message.startswith("PUT RRMPolicyRatio=rrm-embb: ")
    assert "attributes.rRMPolicyMaxRatio: Input should be less than or equal to 100" in message
    assert "attributes.color: Extra inputs are not permitted" in message


def test_parse_nrm_reports_malformed_json_and_cross_field_rules(rrm_policy: Data) -> None:
    with pytest.raises(ConfigError, match=r"RRMPolicyRatio: payload: Invalid JSON"):
        parse_nrm(RRMPolicyRatio, b'{"id": ')
    rrm_policy["attributes"]["rRMPolicyMinRatio"] = 90
    with pytest.raises(ConfigError, match=r"attributes: rRMPolicyMinRatio: must be <= rRMPolicyMaxRatio, got 90 > 80"):
        parse_nrm(RRMPolicyRatio, rrm_policy)


def test_models_are_immutable(service_profile: Data) -> None:
    profile = ServiceProfile.model_validate(service_profile)
    with pytest.raises(ValidationError, match="frozen"):
        profile.sst = 2  # type: ignore[misc]
