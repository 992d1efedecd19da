"""Ray smoke test: rollout workers start a local Ray cluster, collect, and stop it, leaving no process behind.

Skipped when ray (the ``ray`` extra) is not installed. Processes are read from /proc (Linux).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from netslice.intelligence.agents.ppo import PPO
from netslice.intelligence.run_config import RunConfig

ray = pytest.importorskip("ray", reason="ray is not installed (the ray extra: pip install 'netslice[ray]')")
PROC = Path("/proc")
pytestmark = pytest.mark.skipif(not PROC.is_dir(), reason="needs /proc to list processes")


def _parents() -> dict[int, int]:
    out = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # a zombie has exited
                out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    """Live processes below ``pid``."""
    parents, found, todo = _parents(), set(), [pid]
    while todo:
        p = todo.pop()
        children = {c for c, pp in parents.items() if pp == p}
        todo += list(children - found)
        found |= children
    return found


def command(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# The join test runs first, and scripts/test.sh runs this file in an interpreter of its own: run after a test that
# started and stopped a local Ray in the same process, the cluster it starts with `ray start` lost its raylet within
# seconds (its dashboard agent got a SIGTERM). Not understood yet (the closing note of issue 14).
@pytest.mark.slow
def test_workers_join_an_existing_cluster_and_leave_it_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--ray-address``: the collector joins a cluster it did not start, and only disconnects from it."""
    import signal
    import socket
    import subprocess
    import sys

    from netslice.intelligence.agents.distributed import RayCollector

    if ray.is_initialized():
        pytest.skip("Ray is already initialised in this process")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the head's token is not ours to look for
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        cfg = RunConfig(n_envs=4, workers=2).overridden({"total_steps": 2 * 24 * 4, "minibatch_size": 32})
        deadline = time.monotonic() + 60.0
        while True:
            try:
                collector = RayCollector(cfg, address=f"127.0.0.1:{port}")
                break
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)
        with collector:
            assert collector.owns_ray  # it connected, so it disconnects on close
            PPO(cfg.ppo, None, tmp_path, collector=collector).train(max_updates=1)
        assert not ray.is_initialized()
        assert head.poll() is None  # the cluster is still up
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(120)
        # `ray start` records its cluster for later `ray.init()` calls to join; stopped by a signal, it leaves the
        # record behind, and every later local `ray.init(num_cpus=...)` on the machine fails (seen in CI's RLlib run).
        current = Path("/tmp/ray/ray_current_cluster")
        if current.exists() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def test_a_local_ray_cluster_starts_collects_and_stops_leaving_no_process(tmp_path: Path) -> None:
    from netslice.intelligence.agents.distributed import RayCollector

    if ray.is_initialized():
        pytest.skip("Ray is already initialised in this process")
    before = descendants(os.getpid())
    cfg = RunConfig(n_envs=4, workers=2).overridden({"total_steps": 2 * 24 * 4, "minibatch_size": 32})
    with RayCollector(cfg) as collector:
        assert collector.owns_ray
        assert ray.is_initialized()
        ours = descendants(os.getpid()) - before
        names = " ".join(command(p) for p in ours)
        assert "raylet" in names, names
        assert "gcs_server" in names, names
        assert set(collector.pids) <= ours  # the workers run under our raylet
        ppo = PPO(cfg.ppo, None, tmp_path, collector=collector)
        ppo.train(max_updates=1)
        assert ppo.ledger.slots == 24 * 4
    assert not ray.is_initialized()
    deadline = time.monotonic() + 30.0
    while (left := ours & descendants(os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, {p: command(p) for p in left}
    ray_left = [p for p in descendants(os.getpid()) if any(s in command(p) for s in ("raylet", "gcs_server", "ray::"))]
    assert not ray_left, ray_left


def test_a_worker_that_fails_to_start_stops_the_ray_it_started() -> None:
    from netslice.intelligence.agents.distributed import RayCollector

    if ray.is_initialized():
        pytest.skip("Ray is already initialised in this process")
    with pytest.raises(ray.exceptions.RayActorError, match="nope-v0"):
        RayCollector(RunConfig(scenario="nope-v0", n_envs=1, workers=1))
    assert not ray.is_initialized()
