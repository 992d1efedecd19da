"""The rule's dimensioning tables on disk: the same table back, rebuilt when anything it depends on changes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from netslice.intelligence.policies import rule_cache
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.policies.rule_table import Dimensioning, dimension
from netslice.network.scenarios import load


def _same(a: Dimensioning, b: Dimensioning) -> None:
    for name in ("levels", "tiers", "peak", "site_of_slice"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.z, a.slot_h, a.traffic) == (b.z, b.slot_h, b.traffic)


def test_a_table_is_built_once_then_read_back_equal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETSLICE_CACHE_DIR", str(tmp_path))
    sc = load("testbed-live-v0")
    built: list[str] = []

    def build(scenario: object) -> Dimensioning:
        built.append("x")
        return dimension(sc)

    first = rule_cache.cached_dimension(sc, build)
    second = rule_cache.cached_dimension(sc, build)
    assert built == ["x"]
    _same(first, second)
    assert [p.name for p in (tmp_path / "rule").iterdir()] == [f"{rule_cache.key(sc)}.npz"]
    _same(RuleBasedPolicy.from_scenario(sc).dimensioning, first)  # type: ignore[arg-type]


def test_the_key_follows_the_scenario_and_is_stable() -> None:
    sc = load("testbed-live-v0")
    assert rule_cache.key(sc) == rule_cache.key(load("testbed-live-v0"))
    traffic = replace(sc.params.traffic, scale=sc.params.traffic.scale * 1.01)
    changed = replace(sc, params=replace(sc.params, traffic=traffic))
    assert rule_cache.key(changed) != rule_cache.key(sc)
    assert rule_cache.key(load("metro-v0")) != rule_cache.key(sc)


def test_a_corrupt_file_is_rebuilt_and_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETSLICE_CACHE_DIR", str(tmp_path))
    sc = load("testbed-live-v0")
    path = tmp_path / "rule" / f"{rule_cache.key(sc)}.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a table")
    table = rule_cache.cached_dimension(sc)
    _same(table, rule_cache.cached_dimension(sc, lambda s: pytest.fail("read from the replaced file")))


@pytest.mark.parametrize("value", ["off", ""])
def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NETSLICE_CACHE_DIR", value)
    monkeypatch.chdir(tmp_path)
    assert rule_cache.cache_dir() is None
    calls: list[int] = []
    for _ in range(2):
        rule_cache.cached_dimension(load("testbed-live-v0"), lambda s: calls.append(1) or dimension(s))
    assert calls == [1, 1]
    assert not list(tmp_path.iterdir())


def test_the_default_folder_honours_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETSLICE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert rule_cache.cache_dir() == tmp_path / "netslice" / "rule"


def test_an_unwritable_cache_still_returns_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("NETSLICE_CACHE_DIR", str(blocker))  # <cache>/rule cannot be made under a file
    sc = load("testbed-live-v0")
    _same(rule_cache.cached_dimension(sc), dimension(sc))
