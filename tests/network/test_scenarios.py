"""Scenario registry and YAML validation: every error names the field it is about."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from netslice.errors import ConfigError, UnknownScenarioError
from netslice.network import scenarios
from netslice.network.allocation import RESOURCES
from netslice.network.scenarios import Scenario

Data = dict[str, Any]
#: Every registered scenario must build this fast to stay in the fast suite (city-v0: ~0.03 s).
BUILD_BUDGET_S = 5.0


def _build(data: Data) -> Scenario:
    return scenarios.from_yaml_text(yaml.safe_dump(data))


def _expect_config_error(data: Data, *fragments: str) -> str:
    """Building ``data`` must fail with a ConfigError whose message holds every fragment."""
    with pytest.raises(ConfigError) as err:
        _build(data)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


@pytest.mark.parametrize("name", scenarios.available())
def test_registered_scenario_loads_with_a_card_naming_its_slices(name: str) -> None:
    start = time.perf_counter()
    scenario = scenarios.from_yaml_text((scenarios.SCENARIO_DIR / f"{name}.yaml").read_text(), name)
    assert time.perf_counter() - start < BUILD_BUDGET_S, "too slow to build for the fast suite"
    assert scenario.name == name
    params = scenario.params
    assert params.n_slices == len(scenario.spec.slices) >= 1
    assert params.initial_allocation.shape == (len(RESOURCES), params.n_slices)
    assert scenario.spec.description.strip()
    for slice_name in params.slice_names:
        assert slice_name in scenario.spec.description


def test_default_scenario_is_registered_and_load_is_cached() -> None:
    assert scenarios.DEFAULT_SCENARIO in scenarios.available()
    assert scenarios.load() is scenarios.load(scenarios.DEFAULT_SCENARIO)


def test_yaml_round_trip_builds_the_same_parameters(testbed: Scenario, testbed_dict: Data) -> None:
    """Positive control for the invalid variants below: the unmodified dict is valid."""
    rebuilt = _build(testbed_dict).params
    assert rebuilt.slice_names == testbed.params.slice_names == ("mar", "video", "iot")
    np.testing.assert_array_equal(rebuilt.initial_allocation, testbed.params.initial_allocation)
    np.testing.assert_array_equal(rebuilt.enforce_fraction, testbed.params.enforce_fraction)


def test_testbed_carrier_is_lte_20_mhz_with_100_prb(testbed: Scenario) -> None:
    np.testing.assert_array_equal(testbed.params.ran.prb, np.full((2, 1), 100.0))


def test_enforcement_fraction_is_delay_over_slot(testbed: Scenario) -> None:
    # testbed-v0: slot 3600 s; RAN 1 ms (4 RAN rows), TN 20 ms, CN and edge 1000 ms.
    expected = np.array([1e-3] * 4 + [20e-3, 1.0, 1.0]) / 3600.0
    np.testing.assert_allclose(testbed.params.enforce_fraction, expected, rtol=1e-12)


def test_unknown_scenario_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownScenarioError) as err:
        scenarios.load("no-such-scenario-v9")
    assert isinstance(err.value, KeyError)
    message = str(err.value)
    assert "no-such-scenario-v9" in message
    for name in scenarios.available():
        assert name in message


def _set(path: str, value: Any) -> Callable[[Data], None]:
    """A mutation writing ``value`` at a dotted path (list indices as numbers)."""

    def mutate(data: Data) -> None:
        *parents, leaf = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(leaf) if isinstance(node, list) else leaf] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        pytest.param(_set("bogus_key", 1), ["bogus_key"], id="unknown-top-level-key"),
        pytest.param(_set("ran.bandwdith_mhz", 20), ["ran.bandwdith_mhz"], id="unknown-nested-key"),
        pytest.param(_set("slices.1.demand.fsp", 30), ["slices.1.demand.fsp"], id="unknown-key-in-list"),
        pytest.param(_set("transport.links.0.capacity_mbps", -1), ["transport.links.0.capacity_mbps"], id="neg-cap"),
        pytest.param(_set("core.vcpus", 0), ["core.vcpus"], id="zero-vcpus"),
        pytest.param(_set("slices.0.sla.latency_ms", 0), ["slices.0.sla.latency_ms"], id="zero-latency-sla"),
        pytest.param(_set("slices.2.sla.reliability", 1.0), ["slices.2.sla.reliability"], id="reliability-one"),
        pytest.param(_set("slices.1.initial_allocation.prb_ul", 0.9), ["prb_ul", "at most 1"], id="prb-ul-over"),
        pytest.param(_set("slices.0.initial_allocation.tn_bw", 0.5), ["tn_bw", "at most 1"], id="tn-bw-over"),
        pytest.param(_set("slices.0.initial_allocation.edge_cpu", 0.6), ["edge_cpu", "edge1"], id="edge-over"),
        pytest.param(
            _set("slices.0.initial_allocation.mcs_ul", 1.5),
            ["slices.0.initial_allocation.mcs_ul"],
            id="mcs-over-one",
        ),
        pytest.param(_set("slices.2.edge_site", "nowhere"), ["slices.2.edge_site", "nowhere"], id="no-such-site"),
        pytest.param(_set("slices.1.name", "mar"), ["unique"], id="duplicate-slice-name"),
        pytest.param(_set("ran.rat", "wifi"), ["ran.rat"], id="unknown-rat"),
        pytest.param(_set("name", "Testbed"), ["name"], id="unversioned-name"),
        pytest.param(_set("slot_s", -5), ["slot_s"], id="negative-slot"),
    ],
)
def test_invalid_yaml_is_rejected_naming_the_field(
    testbed_dict: Data, mutate: Callable[[Data], None], fragments: list[str]
) -> None:
    mutate(testbed_dict)
    with pytest.raises(ConfigError) as err:
        scenarios.parse(testbed_dict)
    for fragment in fragments:
        assert fragment in str(err.value)
    _expect_config_error(testbed_dict, *fragments)  # the YAML text path reports the same


@pytest.mark.parametrize(
    ("rat", "bandwidth_mhz", "scs_khz"), [("lte", 7, 15), ("lte", 20, 30), ("nr", 100, 15), ("nr", 5, 60)]
)
def test_bandwidth_not_valid_for_the_rat_is_rejected(
    testbed_dict: Data, rat: str, bandwidth_mhz: float, scs_khz: int
) -> None:
    testbed_dict["ran"].update(rat=rat, bandwidth_mhz=bandwidth_mhz, scs_khz=scs_khz)
    message = _expect_config_error(testbed_dict, "ran")
    assert "bandwidth_mhz" in message or "scs_khz" in message


def test_valid_nr_carrier_builds_with_the_table_prb_count(testbed_dict: Data) -> None:
    testbed_dict["ran"].update(rat="nr", bandwidth_mhz=100, scs_khz=30)
    np.testing.assert_array_equal(_build(testbed_dict).params.ran.prb, np.full((2, 1), 273.0))


def test_latency_sla_below_the_latency_floor_is_impossible(testbed_dict: Data) -> None:
    # mar: 76 ms of application latency alone, plus 14 ms of RAN scheduling.
    testbed_dict["slices"][0]["sla"]["latency_ms"] = 80
    _expect_config_error(testbed_dict, "impossible", "slices.0.sla.latency_ms")


def test_latency_sla_just_above_the_floor_is_accepted(testbed_dict: Data) -> None:
    # floor = app + 10 UL + 4 DL scheduling + 2 x (2 x 20 us + 2 x 0.25 us + 10.05 us) + 2 x 100 us (ms)
    app_ms = testbed_dict["slices"][0]["demand"]["app_latency_ms"]
    floor_ms = app_ms + 14 + 2 * (0.04 + 0.0005 + 0.01005) + 0.2
    testbed_dict["slices"][0]["sla"]["latency_ms"] = floor_ms + 0.01
    _build(testbed_dict)
    testbed_dict["slices"][0]["sla"]["latency_ms"] = floor_ms - 0.01
    _expect_config_error(testbed_dict, "impossible")


@pytest.mark.parametrize(
    "text",
    ["name: [unclosed", "slices: {a: 1\n  b: 2", "\tname: tab-indented"],
    ids=["unclosed-list", "bad-mapping", "tab"],
)
def test_malformed_yaml_text_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        scenarios.from_yaml_text(text)


@pytest.mark.parametrize("text", ["- a\n- b", "42", ""], ids=["list", "scalar", "empty"])
def test_yaml_that_is_not_a_mapping_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        scenarios.from_yaml_text(text)


def test_transport_without_links_or_tree_is_rejected(testbed_dict: Data) -> None:
    testbed_dict["transport"]["links"] = []
    _expect_config_error(testbed_dict, "transport")


def test_cell_site_without_a_path_to_the_core_is_rejected(testbed_dict: Data) -> None:
    testbed_dict["ran"]["cells"][0]["site"] = "island"
    _expect_config_error(testbed_dict, "ran.cells.0.site", "island")


@pytest.mark.parametrize("arg", ["./nope.yaml", "nope.yml", "configs/nope", "/no/such/dir/scenario.yaml"])
def test_a_missing_scenario_file_is_reported_as_not_found(arg: str) -> None:
    with pytest.raises(UnknownScenarioError) as err:
        scenarios.load(arg)
    message = str(err.value)
    assert f"scenario file {arg!r}: not found" in message
    assert "unknown" not in message


def test_a_folder_given_as_scenario_file_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(UnknownScenarioError, match="is a folder, not a file"):
        scenarios.load(str(tmp_path))


def test_a_scenario_file_without_yaml_suffix_loads(tmp_path: Path) -> None:
    path = tmp_path / "my-scenario.txt"
    path.write_text((scenarios.SCENARIO_DIR / "testbed-v0.yaml").read_text())
    assert scenarios.load(str(path)).name == "testbed-v0"
