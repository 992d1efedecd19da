"""The training ledger: exact violation and usage counts over scripted slots, days, and its state round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from netslice.intelligence.agents.checkpoint import load_checkpoint, save_checkpoint
from netslice.intelligence.agents.training_ledger import TrainingLedger

SLICES = ("embb", "urllc", "mmtc")


def _scripted() -> TrainingLedger:
    """Two networks, three slices, six slots; network 0 ends a day after slots 2 and 5, network 1 after slot 4."""
    ledger = TrainingLedger(SLICES, 2)
    slots = [  # (cost of network 0, cost of network 1, usage, ended)
        ([0.0, 0.5, 0.0], [0.0, 0.0, 0.0], [0.25, 0.5], [False, False]),
        ([0.0, 0.0, 0.0], [1.0, 0.0, 0.2], [0.25, 0.5], [False, False]),
        ([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.5], [True, False]),
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.25], [False, False]),
        ([0.0, 0.0, 0.0], [0.0, 0.3, 0.0], [0.5, 0.25], [False, True]),
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.0], [True, False]),
    ]
    for c0, c1, usage, ended in slots:
        ledger.record(np.array([c0, c1]), np.array(usage), np.array(ended))
    return ledger


def test_counts_are_exact_fractions_per_slice_and_in_total() -> None:
    ledger = _scripted()
    m = ledger.metrics()
    assert m["train/slots"] == 12
    assert m["train/violation_rate"] == 4 / 12  # net 0 slots 0 and 2, net 1 slots 1 and 4
    assert m["train/violation_rate/embb"] == 2 / 12
    assert m["train/violation_rate/urllc"] == 2 / 12
    assert m["train/violation_rate/mmtc"] == 1 / 12
    assert m["train/usage_mean"] == pytest.approx(4.5 / 12, abs=0, rel=1e-15)
    assert m["train/days"] == 3


def test_days_end_per_network_and_partial_days_stay_out_of_the_cdf() -> None:
    ledger = _scripted()
    # Days: net 0 slots 0-2 (2 of 3 violating), net 0 slots 3-5 (0 of 3), net 1 slots 0-4 (2 of 5);
    # net 1's slot 5 opens a day not yet over.
    rates, fraction = ledger.day_rate_cdf()
    np.testing.assert_array_equal(rates, [0.0, 2 / 5, 2 / 3])
    np.testing.assert_array_equal(fraction, [1 / 3, 2 / 3, 1.0])
    summary = ledger.summary()
    assert summary["days"] == 3
    assert summary["partial_days"] == 1
    assert summary["day_violation_rate"]["mean"] == pytest.approx((2 / 3 + 0 + 2 / 5) / 3)
    assert summary["day_violation_rate"]["p50"] == 2 / 5
    assert summary["day_violation_rate"]["p90"] == 2 / 3
    assert summary["day_violation_rate"]["max"] == 2 / 3
    assert summary["slices"]["mmtc"] == {"violating_slots": 1, "violation_rate": 1 / 12}
    json.dumps(summary)  # plain JSON data


def test_an_empty_ledger_has_zero_rates_and_no_day_quantiles() -> None:
    ledger = TrainingLedger(SLICES, 4)
    assert ledger.metrics()["train/violation_rate"] == 0.0
    summary = ledger.summary()
    assert summary["days"] == 0
    assert summary["day_violation_rate"]["p95"] is None
    assert summary["day_violation_rate_cdf"] == {"rate": [], "fraction": []}


def test_longer_days_grow_the_histogram() -> None:
    ledger = TrainingLedger(("a",), 1)
    for t in range(30):
        ledger.record(np.array([[1.0 if t < 3 else 0.0]]), np.array([0.1]), np.array([t in (1, 29)]))
    rates, fraction = ledger.day_rate_cdf()
    np.testing.assert_array_equal(rates, [1 / 28, 1.0])  # days of 2 slots (both violating) and 28 slots (one)
    np.testing.assert_array_equal(fraction, [0.5, 1.0])


def test_the_state_round_trips_through_a_checkpoint_and_continues_alike(tmp_path) -> None:
    ledger = _scripted()
    path = save_checkpoint(tmp_path / "c.pt", {"ledger": ledger.state()})
    restored = TrainingLedger.from_state(load_checkpoint(path)["ledger"])
    assert isinstance(load_checkpoint(path)["ledger"]["day_hist"], torch.Tensor)
    assert restored.summary() == ledger.summary()
    for led in (ledger, restored):
        led.record(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]), np.array([0.3, 0.1]), np.array([False, True]))
    assert restored.summary() == ledger.summary()
    assert restored.metrics() == ledger.metrics()


def test_a_cost_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="cost"):
        TrainingLedger(SLICES, 2).record(np.zeros((2, 2)), np.zeros(2), np.zeros(2, dtype=bool))


def test_only_live_entries_count_for_per_slice_agents() -> None:
    """Per-slice agents: empty slots count nowhere; a slice's day closes when it leaves or the episode ends."""
    ledger = TrainingLedger(["embb", "mar"], n_envs=3)
    live = np.array([True, True, False])
    cost = np.array([[0.2, 0.0], [0.0, 0.0], [0.9, 0.0]])  # the empty slot's entry must not count
    ledger.record(cost, np.array([0.1, 0.3, 5.0]), np.array([False, False, True]), live)
    ledger.record(np.zeros((3, 2)), np.array([0.1, 0.1, 5.0]), np.array([True, False, True]), np.ones(3, bool))
    m = ledger.metrics()
    assert m["train/slots"] == 5
    assert m["train/violation_rate"] == 1 / 5
    assert m["train/violation_rate/embb"] == 1 / 5
    assert m["train/usage_mean"] == pytest.approx((0.1 + 0.3 + 0.1 + 0.1 + 5.0) / 5)
    # Closed: env 0 after 2 live slots (1 violating), env 2 after its 1 live slot; the first "end" of the
    # empty slot 2 closed nothing.
    assert ledger.days == 2
