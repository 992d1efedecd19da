"""An emulated data plane: real Linux network namespaces, HTB slices, CPU cgroups, traffic and work (issue 15).

The transport domain is emulated with real kernel mechanisms: per-slice sender namespaces, a transit router
namespace whose egress link carries one HTB class per slice (u32 filters by destination port, bfifo leaves),
and a receiver namespace; real UDP traffic generators measure per-slice throughput, one-way delay and loss.
Rates are changed at run time through pyroute2 (netlink).

Modules:

* :mod:`.preflight` -- what this machine supports, and why not (``netslice emulate check``);
* :mod:`.owner` -- naming and ownership of everything a run creates, and the cleanup of dead runs' leftovers
  (``netslice emulate clean``);
* :mod:`.run` -- the lifecycle every run shares (clean-up on exit, error, SIGTERM) and its worker processes;
* :mod:`.transport` -- the namespaces, links and HTB slices;
* :mod:`.traffic` -- the traffic generator and receiver processes;
* :mod:`.measure` -- per-slice window statistics from their packet logs;
* :mod:`.edge` -- the edge emulation: a CPU cgroup per slice (:mod:`.cgroup`: v2 ``cpu.max`` or v1
  ``cpu.cfs_quota_us``) running a real per-request workload (:mod:`.workload`), with measured service times.

Everything here needs root and Linux; :func:`preflight` says what is missing. Only :mod:`.measure` and the
owner naming are pure Python.
"""

from netslice.network.emulation.owner import EmulationError, Owner, clean_stale
from netslice.network.emulation.preflight import Check, Preflight, preflight

__all__ = ["Check", "EmulationError", "Owner", "Preflight", "clean_stale", "preflight"]
