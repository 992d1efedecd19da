"""CPU cgroups with a CFS bandwidth quota: cgroup v2 ``cpu.max`` where available, v1 ``cpu.cfs_quota_us`` otherwise.

Both interfaces drive the same kernel mechanism (CFS bandwidth control): in every period of ``period_us``, the
group's processes may run for ``quota_us`` of CPU time in total, after which they are throttled until the next
period. A quota of ``cores x period`` caps the group at ``cores`` CPUs. A period of 100 ms is the default: a
10 ms period throttled a 0.5-core group even at a 0.3-core load on the project machines
(``shared/reference/emulation.md`` A.6).

A group is named ``nse-<owner>-<role>`` (see :mod:`.owner`), directly under the v2 root or the v1 ``cpu``
hierarchy, so that the clean-up of a dead run finds it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from netslice.network.emulation.owner import EmulationError

#: The cgroup v2 root, and the v1 ``cpu`` hierarchy (a hybrid layout has both).
V2_ROOT = Path("/sys/fs/cgroup")
V1_CPU = Path("/sys/fs/cgroup/cpu")
#: Default CFS period, µs.
PERIOD_US = 100_000


def cgroup_version() -> int | None:
    """2 if the v2 root offers the cpu controller to its children, 1 if the v1 ``cpu`` hierarchy exists, else None."""
    with contextlib.suppress(OSError):
        if "cpu" in (V2_ROOT / "cgroup.subtree_control").read_text().split():
            return 2
    if (V1_CPU / "cpu.cfs_quota_us").exists():
        return 1
    return None


@dataclass(frozen=True)
class CpuCgroup:
    """One CPU cgroup.

    Attributes:
        path: its folder.
        version: 1 (``cpu.cfs_quota_us``, ``cpu.cfs_period_us``) or 2 (``cpu.max``).
    """

    path: Path
    version: int

    @classmethod
    def create(cls, name: str, version: int | None = None) -> CpuCgroup:
        """Create group ``name`` (unlimited) with the interface :func:`cgroup_version` finds, or ``version``."""
        version = version or cgroup_version()
        if version is None:
            raise EmulationError("no CPU cgroup interface here (see `netslice emulate check`)")
        group = cls((V2_ROOT if version == 2 else V1_CPU) / name, version)
        try:
            group.path.mkdir()
        except OSError as e:
            raise EmulationError(f"cannot create cgroup {group.path}: {e.strerror}") from e
        return group

    def set_quota(self, cores: float | None, period_us: int = PERIOD_US) -> None:
        """Cap the group at ``cores`` CPUs (None: no cap) with a CFS period of ``period_us``."""
        if cores is not None and not cores > 0:
            raise ValueError(f"cores must be > 0 or None, got {cores}")
        quota = -1 if cores is None else max(1000, round(cores * period_us))  # the kernel's minimum quota is 1 ms
        if self.version == 2:
            self._write("cpu.max", f"{'max' if quota < 0 else quota} {period_us}")
        else:
            # The period first with the quota lifted: a quota/period pair is checked as each file is written.
            self._write("cpu.cfs_quota_us", "-1")
            self._write("cpu.cfs_period_us", str(period_us))
            self._write("cpu.cfs_quota_us", str(quota))

    def quota(self) -> tuple[int | None, int]:
        """The current ``(quota_us, period_us)``; quota None when unlimited."""
        if self.version == 2:
            quota, period = self._read("cpu.max").split()
            return (None if quota == "max" else int(quota)), int(period)
        quota_us = int(self._read("cpu.cfs_quota_us"))
        return (None if quota_us < 0 else quota_us), int(self._read("cpu.cfs_period_us"))

    def add(self, pid: int) -> None:
        """Move process ``pid`` into the group."""
        self._write("cgroup.procs", str(pid))

    def stat(self) -> dict[str, int]:
        """Throttling counters: ``nr_periods``, ``nr_throttled``, ``throttled_us`` (v1's ns converted)."""
        raw = dict(line.split() for line in self._read("cpu.stat").splitlines() if line.strip())
        throttled_us = int(raw["throttled_usec"]) if self.version == 2 else int(raw["throttled_time"]) // 1000
        return {"nr_periods": int(raw["nr_periods"]), "nr_throttled": int(raw["nr_throttled"]),
                "throttled_us": throttled_us}  # fmt: skip

    def remove(self) -> None:
        """Remove the group (its processes must have exited); no error if it is gone."""
        with contextlib.suppress(FileNotFoundError):
            self.path.rmdir()

    def _write(self, file: str, value: str) -> None:
        try:
            (self.path / file).write_text(value + "\n")
        except OSError as e:
            raise EmulationError(f"cannot write {value!r} to {self.path / file}: {e.strerror}") from e

    def _read(self, file: str) -> str:
        return (self.path / file).read_text().strip()
