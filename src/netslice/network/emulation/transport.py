"""The transport emulation: per-slice namespaces, a transit router with one HTB class per slice, real traffic.

Topology (``<o>`` is the run's owner id, see :mod:`.owner`)::

    nse-<o>-s0 (slice 0's sender) --a0--+
    nse-<o>-s1 (slice 1's sender) --a0--+--> nse-<o>-rt (router) --core--> nse-<o>-dst (receivers)
    ...                                  |      HTB on its egress 'core':
                                         |      1:1 link capacity, 1:(0x10+k) slice k + bfifo

Slice ``k``'s sender sends UDP to the receiver namespace's port ``base_port + k``; a u32 filter on the router
(IPv4 protocol UDP and that destination port, or the slice's DSCP when it has one) puts it in class
``1:(0x10+k)`` (``1:10``, ``1:11``, ... as tc prints them), whose rate and ceiling are the slice's rate (no
borrowing: hard isolation). Its bfifo leaf holds ``rate x queue_ms`` bytes, so its worst queueing delay is
``queue_ms``. The shaping sits on the router, a transit namespace, not on the senders' own egress: there, the
qdisc backlog would throttle the sending socket instead of dropping.

With ``delay_ms`` set, the router first passes every packet from the senders through a userspace delay line
(:mod:`.delayline`, two TUN devices and policy routing; the kernels here have no netem), then shapes it.

Addresses (10.250.0.0/16) exist only inside the run's namespaces, and nothing is routed to the machine's own
namespace: the traffic stays inside the namespaces the run created.

The qdisc tree is built, changed (:meth:`TransportEmulation.set_rate`) and read (:meth:`.class_stats`) through
pyroute2 (netlink, about 0.5 ms per change); namespaces and links through ``ip``. Everything is removed on
:meth:`~TransportEmulation.close`, on an exception in the ``with`` block, on SIGTERM (turned into
``SystemExit`` while the emulation runs, in the main thread), and at interpreter exit; after a SIGKILL, the
next run (or ``netslice emulate clean``) removes the leftovers.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.network.emulation.measure import WindowStats, window_stats
from netslice.network.emulation.owner import EmulationError
from netslice.network.emulation.run import OwnedRun, Worker, ip

#: The traffic workers' module, and the delay line's.
TRAFFIC = "netslice.network.emulation.traffic"
DELAY_LINE = "netslice.network.emulation.delayline"
#: The router's routing table that sends the senders' packets into the delay line.
DELAY_TABLE = 100

#: Ethernet type of IPv4 (``ETH_P_IP``, linux/if_ether.h): the protocol of the u32 filters. pyroute2's example
#: uses ``socket.AF_INET`` (2) there, which the kernel takes as protocol 0x0002 (ETH_P_AX25): it never matches IPv4.
ETH_P_IP = 0x0800
#: HTB quantum, bytes: one full-size frame (silences the kernel's "quantum is big" warning at high rates).
QUANTUM = 1514
#: HTB bucket depth of every slice class (rate and ceiling), bytes: tc's and pyroute2's default at these rates
#: (``rate / HZ + mtu`` with a 1 ns clock and mtu 1600), set explicitly so that the simulator's shaper model
#: (:mod:`.fidelity`) knows it. HTB sends while a class's tokens are not negative and charges the packet after
#: (``htb_class_mode`` / ``htb_charge_class`` in net/sched/sch_htb.c): a bucket of one datagram more.
HTB_BURST_BYTES = 1600
#: Root qdisc, link class, and the first slice class's minor number (``1:0x10`` is slice 0).
ROOT, LINK_CLASS, FIRST_MINOR = 0x10000, 0x10001, 0x10
#: Smallest bfifo limit: two full-size frames, so that a slice at a tiny rate can still queue one.
MIN_QUEUE_BYTES = 2 * 1514


@dataclass(frozen=True)
class SliceLink:
    """One slice's share of the shaped link.

    Attributes:
        name: the slice's name (unique in a config).
        rate_mbps: HTB rate (and ceiling) of the slice's class, Mbit/s at layer 2 (headers included).
        queue_ms: the slice's bfifo leaf holds this many milliseconds of its rate (its worst queueing delay).
        dscp: classify the slice by this DSCP (0-63; its sender marks its packets with it) instead of by its
            receiver's port; e.g. 46 (EF, RFC 3246) for a URLLC-like slice.
    """

    name: str
    rate_mbps: float
    queue_ms: float = 50.0
    dscp: int | None = None

    def __post_init__(self) -> None:
        if not self.rate_mbps > 0:
            raise ValueError(f"slice {self.name}: rate_mbps must be > 0, got {self.rate_mbps}")
        if not self.queue_ms > 0:
            raise ValueError(f"slice {self.name}: queue_ms must be > 0, got {self.queue_ms}")
        if self.dscp is not None and not 0 <= self.dscp <= 63:
            raise ValueError(f"slice {self.name}: dscp must be in [0, 63], got {self.dscp}")


@dataclass(frozen=True)
class TransportConfig:
    """The emulated transport link and its slices.

    Attributes:
        slices: the slices, in class order (slice ``k`` gets class ``1:(0x10+k)`` and port
            ``base_port + k``).
        capacity_mbps: rate of the link class all slices share, Mbit/s (slices do not borrow from it).
        base_port: UDP port of slice 0's receiver.
        delay_ms: one-way propagation delay added to every packet towards the receivers by the TUN delay line of
            :mod:`.delayline` (0: none), ms.
        clean_leftovers: remove dead runs' leftovers (see :func:`.owner.clean_stale`) before starting.
    """

    slices: tuple[SliceLink, ...]
    capacity_mbps: float = 1000.0
    base_port: int = 7000
    delay_ms: float = 0.0
    clean_leftovers: bool = True

    def __post_init__(self) -> None:
        names = [s.name for s in self.slices]
        if not 0 < len(names) <= 200:
            raise ValueError(f"between 1 and 200 slices, got {len(names)}")
        if len(set(names)) != len(names):
            raise ValueError(f"slice names must be unique: {names}")
        if not self.capacity_mbps > 0:
            raise ValueError(f"capacity_mbps must be > 0, got {self.capacity_mbps}")
        if not 0 <= self.delay_ms <= 1000:
            raise ValueError(f"delay_ms must be in [0, 1000], got {self.delay_ms}")


def queue_bytes(rate_mbps: float, queue_ms: float) -> int:
    """The bfifo limit holding ``queue_ms`` at ``rate_mbps``, bytes (at least :data:`MIN_QUEUE_BYTES`)."""
    return max(MIN_QUEUE_BYTES, round(rate_mbps * 1e6 / 8 * queue_ms / 1e3))


class TransportEmulation(OwnedRun):
    """A running transport emulation (see the module docstring); use it as a context manager.

    Example (needs root; see :func:`.preflight.preflight`)::

        config = TransportConfig(slices=(SliceLink("embb", 20.0), SliceLink("urllc", 5.0)))
        with TransportEmulation(config) as emu:
            emu.start_flow("embb", rate_mbps=30.0)
            emu.start_flow("urllc", rate_mbps=1.0, packet_bytes=200)
            stats = emu.measure(1.0)  # {"embb": WindowStats(...), "urllc": ...}
            emu.set_rate("embb", 10.0)
    """

    def __init__(self, config: TransportConfig) -> None:
        super().__init__(config.clean_leftovers)
        self.config = config
        self.rates_mbps = {s.name: s.rate_mbps for s in config.slices}
        self._index = {s.name: k for k, s in enumerate(config.slices)}
        self._senders: dict[str, Worker] = {}
        self._receivers: dict[str, Worker] = {}
        self._ipr: Any = None
        self._core_index = 0

    def _release(self) -> None:
        if self._ipr is not None:
            self._ipr.close()

    # ---- data plane ------------------------------------------------------------------------------------------

    def _build(self) -> None:
        rt, dst = self.netns("rt"), self.netns("dst")
        senders = [self.netns(f"s{k}") for k in range(len(self.config.slices))]
        for ns in (rt, dst, *senders):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", rt, "link", "add", "core", "type", "veth", "peer", "name", "core", "netns", dst)
        self._address(rt, "core", "10.250.0.1/24")
        self._address(dst, "core", "10.250.0.2/24")
        ip("-n", dst, "route", "add", "default", "via", "10.250.0.1")
        for k, ns in enumerate(senders):
            ip("-n", ns, "link", "add", "a0", "type", "veth", "peer", "name", f"a{k}", "netns", rt)
            self._address(ns, "a0", f"10.250.{k + 1}.2/24")
            self._address(rt, f"a{k}", f"10.250.{k + 1}.1/24")
            ip("-n", ns, "route", "add", "default", "via", f"10.250.{k + 1}.1")
        subprocess.run(["ip", "netns", "exec", rt, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
        if self.config.delay_ms > 0:
            self._build_delay_line(rt)
        self._build_htb(rt)
        self._start_receivers()

    def _build_delay_line(self, rt: str) -> None:
        """Route what arrives from the senders through the delay line (TUN ``tdin`` -> process -> ``tdout``)."""
        worker = self.spawn(DELAY_LINE, "delay", rt, ["--delay-ms", str(self.config.delay_ms)], 2)
        worker.read()  # the TUN devices exist once it is ready
        for dev in ("tdin", "tdout"):
            ip("-n", rt, "link", "set", dev, "up")
        # Packets come out of tdout with the senders' source addresses: no reverse-path filter on the router.
        sysctls = [f"net.ipv4.conf.{d}.rp_filter=0" for d in ("all", "default", "tdin", "tdout")]
        subprocess.run(["ip", "netns", "exec", rt, "sysctl", "-qw", *sysctls], check=True)
        ip("-n", rt, "route", "add", "default", "dev", "tdin", "table", str(DELAY_TABLE))
        for k in range(len(self.config.slices)):
            ip("-n", rt, "rule", "add", "iif", f"a{k}", "lookup", str(DELAY_TABLE))

    def _build_htb(self, rt: str) -> None:
        from pyroute2 import IPRoute

        _register_bfifo()
        self._ipr = IPRoute(netns=rt, flags=0)  # flags=0: open the existing namespace, never create one
        self._core_index = self._ipr.link_lookup(ifname="core")[0]
        cap = _bytes_per_s(self.config.capacity_mbps)
        self._ipr.tc("add", "htb", self._core_index, ROOT, default=0)  # unclassified: not shaped
        self._ipr.tc("add-class", "htb", self._core_index, LINK_CLASS, parent=ROOT, rate=cap, ceil=cap,
                     quantum=QUANTUM)  # fmt: skip
        for k, s in enumerate(self.config.slices):
            classid = LINK_CLASS - 1 + FIRST_MINOR + k
            self._set_class("add-class", k, s.rate_mbps)
            self._ipr.tc("add", "bfifo", self._core_index, (FIRST_MINOR + k) << 16, parent=classid,
                         limit=queue_bytes(s.rate_mbps, s.queue_ms))  # fmt: skip
            self._ipr.tc("add-filter", "u32", self._core_index, parent=ROOT, prio=1, protocol=ETH_P_IP,
                         target=classid, keys=self._filter_keys(k, s))  # fmt: skip

    def _filter_keys(self, k: int, s: SliceLink) -> list[str]:
        """u32 keys (``value/mask+offset`` of a 32-bit word of the IPv4 header) that select slice ``k``'s packets.

        By DSCP: the 6 high bits of the header's second byte (RFC 2474). By port: IPv4 protocol 17 (UDP, in the
        word at offset 8) and the UDP destination port (low half of the word at offset 20, for a 20-byte header).
        """
        if s.dscp is not None:
            return [f"0x{s.dscp << 18:08x}/0x00fc0000+0"]
        port = self.config.base_port + k
        return [f"0x{port:08x}/0x0000ffff+20", "0x00110000/0x00ff0000+8"]

    @staticmethod
    def _address(ns: str, dev: str, cidr: str) -> None:
        ip("-n", ns, "addr", "add", cidr, "dev", dev)
        ip("-n", ns, "link", "set", dev, "up")

    def _set_class(self, command: str, k: int, rate_mbps: float) -> None:
        rate = _bytes_per_s(rate_mbps)
        self._ipr.tc(command, "htb", self._core_index, LINK_CLASS - 1 + FIRST_MINOR + k, parent=LINK_CLASS,
                     rate=rate, ceil=rate, burst=HTB_BURST_BYTES, cburst=HTB_BURST_BYTES, quantum=QUANTUM)  # fmt: skip

    def set_rate(self, name: str, rate_mbps: float) -> None:
        """Change slice ``name``'s HTB rate (and ceiling) to ``rate_mbps``, effective at once.

        The bfifo limit follows, so that the slice keeps its ``queue_ms``. Two netlink messages, about 0.5 ms each.
        """
        if not rate_mbps > 0:
            raise ValueError(f"rate_mbps must be > 0, got {rate_mbps}")
        k = self._slice(name)
        self._set_class("change-class", k, rate_mbps)
        self._ipr.tc("change", "bfifo", self._core_index, (FIRST_MINOR + k) << 16,
                     parent=LINK_CLASS - 1 + FIRST_MINOR + k,
                     limit=queue_bytes(rate_mbps, self.config.slices[k].queue_ms))  # fmt: skip
        self.rates_mbps[name] = rate_mbps

    def class_stats(self) -> dict[str, dict[str, int]]:
        """Per slice, its HTB class counters (netlink ``TCA_STATS2``): bytes, packets, drops, backlog, qlen."""
        self._slice(self.config.slices[0].name)  # raises if not started
        minors = {LINK_CLASS - 1 + FIRST_MINOR + k: s.name for k, s in enumerate(self.config.slices)}
        out: dict[str, dict[str, int]] = {}
        for msg in self._ipr.get_classes(self._core_index):
            name = minors.get(msg.get("handle"))
            if name is None:
                continue
            stats = dict(msg.get("TCA_STATS2").get("attrs"))
            basic, queue = stats["TCA_STATS_BASIC"], stats["TCA_STATS_QUEUE"]
            out[name] = {"bytes": basic["bytes"], "packets": basic["packets"], "drops": queue["drops"],
                         "backlog": queue["backlog"], "qlen": queue["qlen"]}  # fmt: skip
        return out

    def _slice(self, name: str) -> int:
        if self._ipr is None or not self.running:
            raise EmulationError("the emulation is not running")
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown slice {name!r} (slices: {', '.join(self._index)})") from None

    # ---- traffic ---------------------------------------------------------------------------------------------

    def _start_receivers(self) -> None:
        for k, s in enumerate(self.config.slices):
            port = str(self.config.base_port + k)
            self._receivers[s.name] = self.spawn(TRAFFIC, f"rx{k}", self.netns("dst"), ["recv", "--port", port], 4)
        for worker in self._receivers.values():
            worker.read()  # the ready answer

    def start_flow(
        self, name: str, rate_mbps: float, packet_bytes: int = 1200, poisson: bool = False, seed: int = 0
    ) -> None:
        """Start slice ``name``'s sender: UDP datagrams of ``packet_bytes`` payload at ``rate_mbps`` of payload.

        Args:
            name: the slice.
            rate_mbps: offered payload rate, Mbit/s (0: send nothing until :meth:`set_offered`).
            packet_bytes: UDP payload per datagram, bytes (16 to 1472, so that a datagram fits a 1500-byte MTU).
            poisson: exponential gaps between datagrams instead of constant ones.
            seed: seed of the Poisson gaps.
        """
        k = self._slice(name)
        if name in self._senders:
            raise EmulationError(f"slice {name!r} already has a flow")
        if not 16 <= packet_bytes <= 1472:
            raise ValueError(f"packet_bytes must be in [16, 1472], got {packet_bytes}")
        args = ["send", "--dst", "10.250.0.2", "--port", str(self.config.base_port + k), "--rate-mbps",
                str(rate_mbps), "--packet-bytes", str(packet_bytes), "--seed", str(seed),
                "--tos", str((self.config.slices[k].dscp or 0) << 2)]  # fmt: skip
        worker = self.spawn(TRAFFIC, f"tx{k}", self.netns(f"s{k}"), [*args, *(["--poisson"] if poisson else [])], 2)
        self._senders[name] = worker
        worker.read()

    def set_offered(self, name: str, rate_mbps: float) -> None:
        """Change the offered payload rate of slice ``name``'s flow, Mbit/s."""
        self._slice(name)
        self._senders[name].command(f"r {rate_mbps}")

    def logs(self, name: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Slice ``name``'s collected logs: sender rows and receiver rows (see :mod:`.measure`).

        Sender rows are ``(seq, send_ns)``, receiver rows ``(seq, send_ns, recv_ns, payload_bytes)``.
        """
        self._slice(name)
        sender = self._senders.get(name)
        sent = sender.log() if sender is not None else np.zeros((0, 2), np.int64)
        return sent, self._receivers[name].log()

    def clear_logs(self) -> None:
        """Forget the collected logs (a long run collects a few MB per minute of traffic)."""
        for worker in self.workers:
            worker.rows = []

    def stats(self, t0_ns: int, t1_ns: int) -> dict[str, WindowStats]:
        """Every slice's KPIs in ``[t0_ns, t1_ns)`` (``CLOCK_MONOTONIC`` ns) from the collected logs."""
        return {name: window_stats(name, *self.logs(name), t0_ns, t1_ns) for name in self._index}

    def measure(self, seconds: float) -> dict[str, WindowStats]:
        """Let the traffic run for ``seconds``, then every slice's KPIs over that window.

        The logs are collected once the slowest queue (the largest ``queue_ms``) has drained after the window,
        so that packets queued at its end are not counted as lost.
        """
        t0 = time.monotonic_ns()
        time.sleep(seconds)
        t1 = time.monotonic_ns()
        time.sleep(max(s.queue_ms for s in self.config.slices) / 1e3 + 0.02)
        self.collect()
        return self.stats(t0, t1)


def _bytes_per_s(rate_mbps: float) -> int:
    return round(rate_mbps * 1e6 / 8)


def _register_bfifo() -> None:
    """Teach pyroute2 the bfifo qdisc: its options are pfifo's (``struct tc_fifo_qopt``), the limit in bytes.

    pyroute2 0.9.7 ships a ``pfifo`` plugin but none for ``bfifo``; without one, the request goes out with no
    parent and the kernel refuses it.
    """
    from pyroute2.netlink.rtnl.tcmsg import plugins, sched_pfifo

    plugins.setdefault("bfifo", sched_pfifo)
