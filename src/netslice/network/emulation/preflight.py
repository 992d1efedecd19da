"""What this machine supports for the emulated data plane, and why not: ``netslice emulate check``.

Every probe tries the real mechanism (an ``ip netns`` namespace of its own, a veth pair, an HTB qdisc, a u32
filter, a bfifo leaf, a TUN device, a CPU cgroup) and records the error it got; nothing is inferred from kernel
config files. The probe namespace is owned like any run's (see :mod:`.owner`) and is removed before returning.

The checks a feature needs:

* ``transport`` (namespaces, HTB slices, rate changes): linux, root, iproute2, netns, veth, htb, u32, bfifo,
  pyroute2;
* ``delay`` (the TUN delay line for propagation delay): tun as well;
* ``edge`` (CPU quotas per slice): linux, root, iproute2, netns and cgroup_cpu (v2 ``cpu.max`` or v1
  ``cpu.cfs_quota_us``).

``netem`` is reported for information only: this project's machines lack it (no netem in their kernel), and no
feature needs it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netslice.network.emulation.owner import Owner, remove_owner

#: The checks each feature needs.
FEATURES: dict[str, tuple[str, ...]] = {
    "transport": ("linux", "root", "iproute2", "netns", "veth", "htb", "u32", "bfifo", "pyroute2"),
    "delay": ("linux", "root", "iproute2", "netns", "tun"),
    "edge": ("linux", "root", "iproute2", "netns", "cgroup_cpu"),
}
#: cgroup v2 mount point, and the v1 ``cpu`` hierarchy (hybrid layouts have both).
CGROUP2_ROOT = Path("/sys/fs/cgroup")
CGROUP1_CPU = Path("/sys/fs/cgroup/cpu")


@dataclass(frozen=True)
class Check:
    """One probe's outcome.

    Attributes:
        name: the check (a key of the tuples in :data:`FEATURES`, or ``netem``).
        ok: whether the mechanism works here.
        detail: what was found (a version, a path), or why it does not work.
    """

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Preflight:
    """All probes' outcomes; :meth:`supports` and :meth:`reason` answer per feature."""

    checks: tuple[Check, ...]

    def check(self, name: str) -> Check:
        """The outcome of probe ``name``."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def supports(self, feature: str) -> bool:
        """Whether every check ``feature`` needs (see :data:`FEATURES`) passed."""
        return all(self.check(n).ok for n in FEATURES[feature])

    def reason(self, feature: str) -> str:
        """Why ``feature`` is not supported (the failed checks and their errors); empty when it is."""
        return "; ".join(f"{c.name}: {c.detail}" for n in FEATURES[feature] if not (c := self.check(n)).ok)

    @property
    def cgroup_version(self) -> int | None:
        """1 or 2: the cgroup interface the edge emulation would use; None when neither works."""
        c = self.check("cgroup_cpu")
        return (2 if c.detail.startswith("v2") else 1) if c.ok else None


def _run(args: list[str]) -> tuple[bool, str]:
    """Run a command; (True, stdout) or (False, its error message)."""
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    if p.returncode != 0:
        return False, (p.stderr.strip() or p.stdout.strip() or f"exit status {p.returncode}").splitlines()[0]
    return True, p.stdout.strip()


def _cgroup_cpu(probe: str) -> Check:
    """v2 ``cpu.max`` when the v2 root gives its children the cpu controller, else the v1 ``cpu`` CFS quota."""
    errors = []
    subtree = CGROUP2_ROOT / "cgroup.subtree_control"
    if subtree.exists():
        if "cpu" in subtree.read_text().split():
            ok, detail = _probe_cgroup(CGROUP2_ROOT / probe, "cpu.max")
            if ok:
                return Check("cgroup_cpu", True, f"v2 cpu.max at {CGROUP2_ROOT}")
            errors.append(f"v2: {detail}")
        else:
            errors.append(f"v2: the cpu controller is not enabled for the children of {CGROUP2_ROOT}")
    if (CGROUP1_CPU / "cpu.cfs_quota_us").exists():
        ok, detail = _probe_cgroup(CGROUP1_CPU / probe, "cpu.cfs_quota_us")
        if ok:
            return Check("cgroup_cpu", True, f"v1 cpu.cfs_quota_us at {CGROUP1_CPU}")
        errors.append(f"v1: {detail}")
    else:
        errors.append(f"v1: no {CGROUP1_CPU}/cpu.cfs_quota_us")
    return Check("cgroup_cpu", False, "; ".join(errors))


def _probe_cgroup(path: Path, quota_file: str) -> tuple[bool, str]:
    """Create a cgroup, check that its quota file is writable (set to unlimited), remove it."""
    try:
        path.mkdir()
    except OSError as e:
        return False, f"cannot create a cgroup: {e.strerror}"
    try:
        (path / quota_file).write_text("max\n" if quota_file == "cpu.max" else "-1\n")
        return True, ""
    except OSError as e:
        return False, f"cannot write {quota_file}: {e.strerror}"
    finally:
        with contextlib.suppress(OSError):
            path.rmdir()


def _pyroute2() -> Check:
    try:
        module = importlib.import_module("pyroute2")
    except ImportError as e:
        return Check("pyroute2", False, f"not importable ({e}); pip install 'netslice[emulation]'")
    return Check("pyroute2", True, f"pyroute2 {getattr(module, '__version__', '?')}")


def preflight() -> Preflight:
    """Probe this machine: what the emulation can use here, and for each failure, why."""
    checks = [
        Check("linux", platform.system() == "Linux", platform.platform()),
        Check("root", os.geteuid() == 0, "running as root" if os.geteuid() == 0 else f"euid {os.geteuid()}, not 0"),
    ]
    tools = [t for t in ("ip", "tc") if shutil.which(t) is None]
    checks.append(Check("iproute2", not tools, f"missing {', '.join(tools)}" if tools else _run(["ip", "-V"])[1]))
    checks.append(_pyroute2())
    kernel = ("netns", "veth", "htb", "u32", "bfifo", "tun", "netem")
    if not (checks[0].ok and checks[1].ok and checks[2].ok):
        why = "needs " + ", ".join(c.name for c in checks[:3] if not c.ok)
        checks += [Check(n, False, why) for n in kernel]
        checks.append(_cgroup_cpu("probe") if checks[1].ok else Check("cgroup_cpu", False, "needs root"))
        return Preflight(tuple(checks))
    owner = Owner.create()
    try:
        checks += _kernel_probes(owner)
        checks.append(_cgroup_cpu(owner.netns("pf")))
    finally:
        remove_owner(owner.id)
    return Preflight(tuple(checks))


def _kernel_probes(owner: Owner) -> list[Check]:
    """The namespace, link and tc probes, each one only if what it builds on worked."""
    ns = owner.netns("pf")
    steps: list[tuple[str, Callable[[], tuple[bool, str]]]] = [
        ("netns", lambda: _run(["ip", "netns", "add", ns])),
        ("veth", lambda: _run(["ip", "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb"])),
        ("htb", lambda: _run(["tc", "-n", ns, "qdisc", "add", "dev", "pa", "root", "handle", "1:", "htb"])),
        ("u32", lambda: _tc_u32(ns)),
        ("bfifo", lambda: _tc_bfifo(ns)),
    ]
    out: list[Check] = []
    for name, step in steps:
        if out and not out[-1].ok:
            out.append(Check(name, False, f"not probed: {out[-1].name} failed"))
            continue
        ok, detail = step()
        out.append(Check(name, ok, detail or "works"))
    netns_ok = out[0].ok
    ok, detail = _run(["ip", "-n", ns, "tuntap", "add", "dev", "pt", "mode", "tun"]) if netns_ok else (False, "")
    out.append(Check("tun", ok, (detail or "works") if netns_ok else "not probed: netns failed"))
    if out[1].ok:
        ok, detail = _run(["tc", "-n", ns, "qdisc", "add", "dev", "pb", "root", "netem", "delay", "1ms"])
        out.append(Check("netem", ok, detail or "works"))
    else:
        out.append(Check("netem", False, "not probed: veth failed"))
    return out


def _tc_u32(ns: str) -> tuple[bool, str]:
    ok, detail = _run(["tc", "-n", ns, "class", "add", "dev", "pa", "parent", "1:", "classid", "1:1", "htb",
                       "rate", "10mbit"])  # fmt: skip
    if not ok:
        return False, f"HTB class: {detail}"
    return _run(["tc", "-n", ns, "filter", "add", "dev", "pa", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                 "match", "ip", "dport", "7000", "0xffff", "flowid", "1:1"])  # fmt: skip


def _tc_bfifo(ns: str) -> tuple[bool, str]:
    return _run(["tc", "-n", ns, "qdisc", "add", "dev", "pa", "parent", "1:1", "handle", "10:", "bfifo", "limit",
                 "30000"])  # fmt: skip
