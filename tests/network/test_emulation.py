"""The emulated data plane (netslice.network.emulation): real namespaces, HTB slices, UDP traffic, CPU cgroups.

The pure parts (window statistics, naming, configuration checks) run everywhere. The data-plane tests need root
and the kernel features the preflight probes (ip netns, veth, HTB, u32, bfifo) plus pyroute2; they are marked
with ``requires_transport`` and skip with the preflight's reason where something is missing. They assert the
issue's targets: per-slice throughput within 3 % of the HTB rate (UDP goodput factor accounted), isolation (a
saturated eMBB-like slice leaves a URLLC-like slice's median one-way delay below 1 ms), a rate change visible
within 200 ms, and nothing left behind after a run is SIGKILLed or SIGTERMed. The edge tests (``requires_edge``:
root, ip netns and a CPU cgroup interface) check that a slice's CFS quota caps the CPU its real per-request
workload gets, that a quota change acts at run time, and the same clean-up.

Rates are modest (a few to 20 Mbit/s) and windows short, so that the file takes well under a minute on two
shared cores.
"""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from netslice.network.emulation.edge import EdgeConfig, EdgeEmulation, EdgeSlice, edge_window_stats
from netslice.network.emulation.measure import HEADER_BYTES, goodput_factor, throughput_series, window_stats
from netslice.network.emulation.owner import (
    Owner,
    clean_stale,
    leftover_owners,
    owned_cgroups,
    owned_namespaces,
    owned_processes,
    owner_alive,
    remove_owner,
)
from netslice.network.emulation.preflight import FEATURES, preflight
from netslice.network.emulation.transport import (
    MIN_QUEUE_BYTES,
    SliceLink,
    TransportConfig,
    TransportEmulation,
    queue_bytes,
)

requires_transport = pytest.mark.usefixtures("transport_ready")
#: The machine's preflight, probed once for all the skip decisions of this file.
machine = functools.cache(preflight)
requires_edge = pytest.mark.usefixtures("edge_ready")


@pytest.fixture(scope="module")
def transport_ready() -> None:
    result = machine()
    if not result.supports("transport"):
        pytest.skip(f"the transport emulation is not supported here: {result.reason('transport')}")


@pytest.fixture(scope="module")
def delay_ready() -> None:
    result = machine()
    for feature in ("transport", "delay"):
        if not result.supports(feature):
            pytest.skip(f"the {feature} emulation is not supported here: {result.reason(feature)}")


@pytest.fixture(scope="module")
def edge_ready() -> None:
    result = machine()
    if not result.supports("edge"):
        pytest.skip(f"the edge emulation is not supported here: {result.reason('edge')}")


# ---- pure parts ------------------------------------------------------------------------------------------------


def test_goodput_factor_counts_ethernet_ip_udp_headers():
    assert HEADER_BYTES == 42
    assert goodput_factor(1200) == pytest.approx(1200 / 1242)
    assert goodput_factor(200) == pytest.approx(200 / 242)


def test_window_stats_known_answer():
    ms = 1_000_000
    # Four datagrams sent at 0, 100, 200, 900 ms; three arrive, 1, 3 and 5 ms later; one arrives after the window.
    sent = np.array([[0, 0], [1, 100 * ms], [2, 200 * ms], [3, 900 * ms]], dtype=np.int64)
    received = np.array(
        [[0, 0, 1 * ms, 1000], [1, 100 * ms, 103 * ms, 1000], [3, 900 * ms, 1005 * ms, 1000]], dtype=np.int64
    )
    s = window_stats("x", sent, received, 0, 1000 * ms)
    assert (s.sent, s.received) == (4, 2)
    assert s.throughput_mbps == pytest.approx(2 * 1000 * 8 / 1e6)
    assert s.delay_p50_ms == pytest.approx(2.0)
    assert s.loss == pytest.approx(0.25)  # seq 2 never arrived; seq 3 arrived late but is not lost
    empty = window_stats("x", sent, received, 2000 * ms, 3000 * ms)
    assert (empty.sent, empty.received, empty.loss) == (0, 0, 0.0)
    assert np.isnan(empty.delay_p50_ms)
    assert empty.as_dict()["delay_p50_ms"] is None
    with pytest.raises(ValueError, match="empty window"):
        window_stats("x", sent, received, 5, 5)


def test_throughput_series_bins_received_bytes():
    ms = 1_000_000
    received = np.array([[0, 0, 5 * ms, 1250], [1, 0, 15 * ms, 1250], [2, 0, 16 * ms, 1250]], dtype=np.int64)
    series = throughput_series(received, 0, 20 * ms, 10 * ms)
    np.testing.assert_allclose(series, [1.0, 2.0])


def test_edge_window_stats_known_answer():
    ms = 1_000_000
    sent = np.array([[0, 0], [1, 10 * ms], [2, 20 * ms]], dtype=np.int64)
    # Request 0: started 1 ms after it was sent, 2 ms of processing, 1.5 ms of CPU; request 1: 4 ms, 3 ms of CPU.
    served = np.array([[0, 0, 1 * ms, 3 * ms, 1_500_000], [1, 10 * ms, 12 * ms, 16 * ms, 3 * ms]], dtype=np.int64)
    s = edge_window_stats("mar", sent, served, 0, 100 * ms, throttled_ms=5.0)
    assert (s.sent, s.completed) == (3, 2)
    assert s.service_p50_ms == pytest.approx(3.0)
    assert s.response_p50_ms == pytest.approx(4.5)
    assert s.cpu_ms_mean == pytest.approx(2.25)
    assert s.cpu_cores == pytest.approx(4.5e-3 / 0.1)
    assert s.unserved == pytest.approx(1 / 3)
    assert s.throttled_ms == 5.0
    with pytest.raises(ValueError, match="cpu_cores"):
        EdgeSlice("a", cpu_cores=0.0)


def test_queue_bytes_is_rate_times_delay_with_a_floor():
    assert queue_bytes(20.0, 50.0) == 125_000
    assert queue_bytes(0.1, 1.0) == MIN_QUEUE_BYTES


def test_config_validation():
    with pytest.raises(ValueError, match="rate_mbps"):
        SliceLink("a", 0.0)
    with pytest.raises(ValueError, match="dscp"):
        SliceLink("a", 1.0, dscp=64)
    with pytest.raises(ValueError, match="unique"):
        TransportConfig(slices=(SliceLink("a", 1.0), SliceLink("a", 2.0)))
    with pytest.raises(ValueError, match="between 1 and 200"):
        TransportConfig(slices=())


def test_owner_names_carry_prefix_and_id():
    owner = Owner(id="0a1b2c", pid=1, start_time=0)
    assert owner.netns("rt") == "nse-0a1b2c-rt"
    assert owner.comm("rx12") == "nse0a1b2c-rx12"
    assert len(owner.comm("a-very-long-role")) == 15


def test_preflight_answers_every_feature():
    result = preflight()
    for feature in FEATURES:
        assert result.supports(feature) == (result.reason(feature) == "")
    assert result.check("netem").name == "netem"


# ---- the real data plane ---------------------------------------------------------------------------------------


def _flows(emu: TransportEmulation, offered: dict[str, tuple[float, int]]) -> None:
    for name, (rate, size) in offered.items():
        emu.start_flow(name, rate_mbps=rate, packet_bytes=size)


@requires_transport
def test_throughput_matches_htb_rate_and_filters_classify():
    config = TransportConfig(slices=(SliceLink("embb", 16.0), SliceLink("mmtc", 4.0)))
    with TransportEmulation(config) as emu:
        _flows(emu, {"embb": (24.0, 1200), "mmtc": (6.0, 1000)})  # both offered 1.5x their rate
        emu.measure(0.3)  # fill the queues
        stats = emu.measure(1.5)
        classes = emu.class_stats()
    for name, size in (("embb", 1200), ("mmtc", 1000)):
        expected = config.slices[[s.name for s in config.slices].index(name)].rate_mbps * goodput_factor(size)
        assert stats[name].throughput_mbps == pytest.approx(expected, rel=0.03), name
        assert stats[name].loss > 0.2  # offered 1.5x: about a third is dropped at the router
        # The u32 filters (protocol ETH_P_IP) put every datagram into its slice's class: the class sent them all.
        assert classes[name]["packets"] >= stats[name].received
        assert classes[name]["drops"] > 0


@requires_transport
def test_saturated_embb_does_not_delay_urllc():
    # The URLLC slice is classified by its DSCP (EF, 46), the eMBB slice by its port.
    config = TransportConfig(slices=(SliceLink("embb", 12.0), SliceLink("urllc", 4.0, dscp=46)))
    with TransportEmulation(config) as emu:
        _flows(emu, {"embb": (24.0, 1200), "urllc": (0.8, 200)})
        emu.measure(0.3)
        stats = emu.measure(1.5)
        classes = emu.class_stats()
    assert stats["embb"].delay_p50_ms > 20.0  # its 50 ms bfifo is full: the link really is saturated
    assert stats["urllc"].delay_p50_ms < 1.0
    assert stats["urllc"].loss == 0.0
    # Through its own class (an unclassified packet would bypass the shaping and prove nothing).
    assert classes["urllc"]["packets"] >= stats["urllc"].received


def _settle_ms(series: np.ndarray, target: float, bin_ms: float, tolerance: float = 0.15) -> float:
    """Start of the first bin whose throughput is within ``tolerance`` of ``target``, ms after the change."""
    hits = np.flatnonzero(np.abs(series / target - 1) <= tolerance)
    return float(hits[0] * bin_ms) if hits.size else float("inf")


@requires_transport
def test_rate_change_is_visible_within_200_ms():
    size, bin_ns = 1200, 50_000_000
    config = TransportConfig(slices=(SliceLink("embb", 20.0),))
    with TransportEmulation(config) as emu:
        emu.start_flow("embb", rate_mbps=30.0, packet_bytes=size)
        time.sleep(0.5)
        changes = []
        for rate in (6.0, 20.0):  # a decrease, then an increase (the offered 30 Mbit/s keeps a backlog)
            t = time.monotonic_ns()
            emu.set_rate("embb", rate)
            changes.append((t, rate))
            time.sleep(1.0)
        emu.collect()
        _, received = emu.logs("embb")
    for t, rate in changes:
        target = rate * goodput_factor(size)
        series = throughput_series(received, t, t + 1_000_000_000, bin_ns)
        assert _settle_ms(series, target, bin_ns / 1e6) <= 200.0, (rate, series)
        settled = window_stats("embb", np.zeros((0, 2), np.int64), received, t + 200_000_000, t + 1_000_000_000)
        assert settled.throughput_mbps == pytest.approx(target, rel=0.03), rate


@pytest.mark.usefixtures("delay_ready")
def test_delay_line_adds_propagation_delay_and_keeps_the_shaping():
    config = TransportConfig(slices=(SliceLink("embb", 12.0), SliceLink("urllc", 4.0)), delay_ms=10.0)
    with TransportEmulation(config) as emu:
        _flows(emu, {"embb": (18.0, 1200), "urllc": (0.8, 200)})
        emu.measure(0.3)
        stats = emu.measure(1.5)
    assert 10.0 <= stats["urllc"].delay_p50_ms <= 13.0  # 10 ms of delay line, plus a little Python time
    assert stats["urllc"].loss == 0.0
    assert stats["embb"].throughput_mbps == pytest.approx(12.0 * goodput_factor(1200), rel=0.03)
    assert 58.0 <= stats["embb"].delay_p50_ms <= 65.0  # 10 ms of delay line + its full 50 ms bfifo


@requires_transport
def test_clean_stale_keeps_a_live_run():
    config = TransportConfig(slices=(SliceLink("a", 5.0),))
    with TransportEmulation(config) as emu:
        assert emu.owner is not None
        owner = emu.owner.id
        assert owner_alive(owner)
        assert owner not in clean_stale()
        assert len(owned_namespaces(owner)) == 3  # rt, dst, s0
        assert len(owned_processes(owner)) == 1  # the receiver
    assert owned_namespaces(owner) == []
    assert owned_processes(owner) == []
    assert owner not in leftover_owners()


@requires_edge
def test_cpu_quota_caps_the_slice_and_changes_at_run_time():
    config = EdgeConfig(slices=(EdgeSlice("capped", cpu_cores=0.25), EdgeSlice("free", cpu_cores=None)))
    with EdgeEmulation(config) as emu:
        groups = dict(emu.cgroups)
        assert groups["capped"].quota() == (25_000, 100_000)
        # About 1.5 ms of CPU per request: 300 requests/s need about 0.45 cores, above the 0.25-core quota.
        emu.start_requests("capped", rate_per_s=300.0)
        emu.start_requests("free", rate_per_s=50.0)
        emu.measure(0.3)
        capped = emu.measure(1.5)
        emu.set_quota("capped", 1.0)
        raised = emu.measure(1.0)
    assert all(not g.path.exists() for g in groups.values())  # the cgroups went with the run
    c = capped["capped"]
    assert c.cpu_ms_mean > 0.2  # the real per-request work was done
    assert 0.25 * 0.6 <= c.cpu_cores <= 0.25 * 1.08  # capped by the quota (less if the machine is busy)
    assert c.throttled_ms > 100.0
    assert c.response_p50_ms > 10 * c.service_p50_ms  # requests queue behind the throttled server
    assert capped["free"].throttled_ms == 0.0
    assert capped["free"].unserved == 0.0
    assert raised["capped"].cpu_cores > 0.25 * 1.2  # the raised quota acts at once: the backlog drains faster


CHILDREN = {
    "transport": """
        from netslice.network.emulation.transport import SliceLink, TransportConfig, TransportEmulation
        config = TransportConfig(slices=(SliceLink("embb", 10.0), SliceLink("urllc", 2.0)))
        with TransportEmulation(config) as emu:
            emu.start_flow("embb", rate_mbps=15.0)
            emu.start_flow("urllc", rate_mbps=0.5, packet_bytes=200)
            print(emu.owner.id, flush=True)
            time.sleep(60)
    """,
    "edge": """
        from netslice.network.emulation.edge import EdgeConfig, EdgeEmulation, EdgeSlice
        config = EdgeConfig(slices=(EdgeSlice("mar", cpu_cores=0.2), EdgeSlice("v2x", cpu_cores=None)))
        with EdgeEmulation(config) as emu:
            emu.start_requests("mar", rate_per_s=200.0)
            emu.start_requests("v2x", rate_per_s=20.0)
            print(emu.owner.id, flush=True)
            time.sleep(60)
    """,
}
#: What a child leaves when SIGKILLed: namespaces (transport: rt, dst, s0, s1; edge: edge) and cgroups.
LEFT = {"transport": (4, 0), "edge": (1, 2)}


@pytest.fixture(params=sorted(CHILDREN))
def child(request: pytest.FixtureRequest) -> Iterator[tuple[str, subprocess.Popen[str], str]]:
    """A process running an emulation with traffic, its kind and its owner id; killed and cleaned up afterwards."""
    kind = request.param
    result = machine()
    if not result.supports(kind):
        pytest.skip(f"the {kind} emulation is not supported here: {result.reason(kind)}")
    code = "import time\n" + textwrap.dedent(CHILDREN[kind])
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30.0)
    owner = proc.stdout.readline().strip() if ready else ""
    try:
        if not owner:
            proc.kill()
            pytest.fail(f"the emulation child did not start: {proc.communicate()[1]}")
        yield kind, proc, owner
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        if owner:
            remove_owner(owner)


def _nothing_left(owner: str) -> None:
    assert owned_namespaces(owner) == []
    assert owned_processes(owner) == []
    assert owned_cgroups(owner) == []
    assert not Path(f"/run/netslice-emulation/{owner}.json").exists()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert owner not in links  # nothing of the run in the machine's own namespace either


def test_sigkill_leftovers_are_removed_by_the_next_run(child: tuple[str, subprocess.Popen[str], str]):
    kind, proc, owner = child
    namespaces, cgroups = LEFT[kind]
    assert len(owned_namespaces(owner)) == namespaces
    assert len(owned_cgroups(owner)) == cgroups
    assert len(owned_processes(owner)) == 4  # two generators, two receivers or servers (named nse<owner>-...)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not owner_alive(owner)
    assert len(owned_namespaces(owner)) == namespaces  # a SIGKILLed run cannot clean up after itself
    assert owner in clean_stale()  # what the next run (or `netslice emulate clean`) does first
    _nothing_left(owner)


def test_sigterm_removes_everything(child: tuple[str, subprocess.Popen[str], str]):
    _, proc, owner = child
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    _nothing_left(owner)


def test_cli_check_and_clean():
    from typer.testing import CliRunner

    from netslice import cli_emulate

    runner = CliRunner()
    result = runner.invoke(cli_emulate.app, ["check"])
    assert result.exit_code == 0, result.output
    for feature in FEATURES:
        assert f"{feature}: " in result.output
    supported = machine().supports("transport")
    assert runner.invoke(cli_emulate.app, ["check", "--feature", "transport"]).exit_code == (0 if supported else 1)
    assert runner.invoke(cli_emulate.app, ["check", "--feature", "nope"]).exit_code == 2
    if os.geteuid() == 0:
        result = runner.invoke(cli_emulate.app, ["clean"])
        assert result.exit_code == 0, result.output
        assert "dead run" in result.output


def test_cli_registers_emulate():
    from typer.testing import CliRunner

    from netslice import cli

    result = CliRunner().invoke(cli.app, ["emulate", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("check", "clean", "transport", "edge"):
        assert command in result.output


@requires_transport
def test_cli_transport_writes_one_window(tmp_path: Path):
    import json

    from typer.testing import CliRunner

    from netslice import cli_emulate

    out = tmp_path / "window.json"
    args = ["transport", "--rates", "8,2", "--offered", "12,1", "--packet-bytes", "1200,200", "--seconds", "0.5",
            "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli_emulate.app, args)
    assert result.exit_code == 0, result.output
    stats = json.loads(out.read_text())
    assert stats["s0"]["throughput_mbps"] == pytest.approx(8 * goodput_factor(1200), rel=0.05)
    assert stats["s1"]["loss"] == 0.0


@requires_edge
def test_cli_edge_writes_one_window(tmp_path: Path):
    import json

    from typer.testing import CliRunner

    from netslice import cli_emulate

    out = tmp_path / "window.json"
    args = ["edge", "--quotas", "none,0.2", "--rates", "50,50", "--seconds", "0.5", "--out", str(out)]
    result = CliRunner().invoke(cli_emulate.app, args)
    assert result.exit_code == 0, result.output
    stats = json.loads(out.read_text())
    assert stats["s0"]["completed"] > 0
    assert stats["s1"]["cpu_ms_mean"] > 0.2
