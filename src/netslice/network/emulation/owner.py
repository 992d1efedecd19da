"""Who owns what the emulation creates, and how leftovers of dead runs are found and removed.

Every object a run creates carries the prefix :data:`PREFIX` and the run's *owner id* (six hex digits) in its
name: network namespaces are ``nse-<owner>-<role>``, worker processes are named (``comm``, at most 15 characters)
``nse<owner>-<role>``. Interfaces and qdiscs live inside those namespaces, so they go with them.

Before it creates anything, a run writes an *owner record*, ``/run/netslice-emulation/<owner>.json``: its process
id and that process's start time (field 22 of ``/proc/<pid>/stat``, so a recycled pid is not mistaken for the
owner). A run is alive while that process exists with that start time. The record is removed last, after
everything else of the run. :func:`clean_stale` removes every namespace, process and record whose owner is not
alive: what a run killed with SIGKILL (or a crashed machine session) left behind. It never touches objects
without the prefix, nor those of a live run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from netslice.errors import NetsliceError

#: Name prefix of every namespace, process and record of the emulation.
PREFIX = "nse"
#: Where the owner records are written (a tmpfs, cleared at boot like ``/run/netns``).
RECORD_DIR = Path("/run/netslice-emulation")
#: Where ``ip netns`` keeps its named namespaces.
NETNS_DIR = Path("/run/netns")
#: Where a run's cgroups may be (the v2 root, the v1 ``cpu`` hierarchy): ``<root>/nse-<owner>-<role>``.
CGROUP_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu"))
#: An owner id: six lower-case hex digits.
OWNER_RE = re.compile(r"[0-9a-f]{6}")
_NS_RE = re.compile(rf"{PREFIX}-([0-9a-f]{{6}})-[a-z0-9]+")
_COMM_RE = re.compile(rf"{PREFIX}([0-9a-f]{{6}})-")


class EmulationError(NetsliceError, RuntimeError):
    """The emulated data plane could not be built, driven or measured."""


def process_start_time(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


@dataclass(frozen=True)
class Owner:
    """The identity of one emulation run.

    Attributes:
        id: six hex digits, unique among the runs on this machine.
        pid: the process that owns the run.
        start_time: that process's start time (clock ticks since boot).
    """

    id: str
    pid: int
    start_time: int

    @classmethod
    def create(cls) -> Owner:
        """A fresh owner id for this process, with its record written (create it before any object)."""
        start = process_start_time(os.getpid())
        if start is None:
            raise EmulationError("cannot read /proc/self/stat (the emulation needs Linux with /proc)")
        RECORD_DIR.mkdir(parents=True, exist_ok=True)
        while True:
            owner = cls(id=secrets.token_hex(3), pid=os.getpid(), start_time=start)
            # Written in full under a temporary name, then linked: a concurrent clean-up never reads a half record.
            tmp = RECORD_DIR / f".{owner.id}.{owner.pid}.tmp"
            tmp.write_text(json.dumps({"pid": owner.pid, "start_time": owner.start_time, "created": time.time()}))
            try:
                os.link(tmp, owner.record_path)
            except FileExistsError:
                continue
            finally:
                tmp.unlink()
            return owner

    @property
    def record_path(self) -> Path:
        """The owner record of this run."""
        return RECORD_DIR / f"{self.id}.json"

    def netns(self, role: str) -> str:
        """Name of this run's namespace for ``role`` (lower-case letters and digits)."""
        return f"{PREFIX}-{self.id}-{role}"

    def comm(self, role: str) -> str:
        """Process name (``comm``, at most 15 characters) of this run's worker ``role``."""
        return f"{PREFIX}{self.id}-{role}"[:15]


def owner_alive(owner_id: str) -> bool:
    """Whether the run ``owner_id`` is alive: its record exists and names a process that still runs."""
    try:
        record = json.loads((RECORD_DIR / f"{owner_id}.json").read_text())
        pid, start = int(record["pid"]), int(record["start_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return process_start_time(pid) == start


def namespaces() -> list[str]:
    """Names of all named network namespaces (``ip netns list``)."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except OSError:
        return []


def owned_namespaces(owner_id: str) -> list[str]:
    """This run's namespaces that exist."""
    return [n for n in namespaces() if (m := _NS_RE.fullmatch(n)) and m.group(1) == owner_id]


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def pids_in_netns(name: str) -> list[int]:
    """Processes whose network namespace is the named one (what ``ip netns pids`` lists)."""
    try:
        target = os.stat(NETNS_DIR / name)
    except OSError:
        return []
    out = []
    for pid in _pids():
        try:
            st = os.stat(f"/proc/{pid}/ns/net")
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (target.st_ino, target.st_dev):
            out.append(pid)
    return out


def owned_cgroups(owner_id: str) -> list[Path]:
    """This run's cgroup folders that exist."""
    out = []
    for root in CGROUP_ROOTS:
        with contextlib.suppress(OSError):
            out += [p for p in root.iterdir() if (m := _NS_RE.fullmatch(p.name)) and m.group(1) == owner_id]
    return sorted(out)


def owned_processes(owner_id: str) -> list[int]:
    """Processes of the run: named ``nse<owner>-...`` or living in one of its namespaces."""
    own = os.getpid()
    found = set()
    for pid in _pids():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if (m := _COMM_RE.match(comm)) and m.group(1) == owner_id:
            found.add(pid)
    for ns in owned_namespaces(owner_id):
        found.update(pids_in_netns(ns))
    found.discard(own)
    return sorted(found)


def _kill_and_wait(pids: list[int], timeout_s: float = 2.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        for pid in pids:  # reap our own children, so that they do not linger as zombies
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.01)


def delete_netns(name: str) -> None:
    """Delete a named namespace (its interfaces and qdiscs go with it); no error if it is already gone."""
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def remove_owner(owner_id: str) -> None:
    """Remove everything of run ``owner_id``: its processes (SIGKILL), cgroups, namespaces, then its record."""
    if not OWNER_RE.fullmatch(owner_id):
        raise ValueError(f"not an owner id: {owner_id!r}")
    _kill_and_wait(owned_processes(owner_id))
    for cgroup in owned_cgroups(owner_id):
        with contextlib.suppress(OSError):
            cgroup.rmdir()
    for ns in owned_namespaces(owner_id):
        delete_netns(ns)
    with contextlib.suppress(FileNotFoundError):
        (RECORD_DIR / f"{owner_id}.json").unlink()


def leftover_owners() -> set[str]:
    """Owner ids of every object of the emulation on this machine: records, namespaces, cgroups, processes."""
    ids: set[str] = set()
    with contextlib.suppress(OSError):
        ids.update(p.stem for p in RECORD_DIR.glob("*.json") if OWNER_RE.fullmatch(p.stem))
    ids.update(m.group(1) for n in namespaces() if (m := _NS_RE.fullmatch(n)))
    for root in CGROUP_ROOTS:
        with contextlib.suppress(OSError):
            ids.update(m.group(1) for p in root.iterdir() if (m := _NS_RE.fullmatch(p.name)))
    for pid in _pids():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if m := _COMM_RE.match(comm):
            ids.add(m.group(1))
    return ids


def clean_stale() -> list[str]:
    """Remove the objects of every run whose owner process is dead; returns the owner ids removed."""
    stale = sorted(o for o in leftover_owners() if not owner_alive(o))
    for owner_id in stale:
        remove_owner(owner_id)
    return stale
