"""REST round trip of the agent API on loopback: latency at one client, throughput with several.

Starts a real ``netslice serve`` (uvicorn, one process) on a free port, then

1. one client: ``iterations`` round trips of GET /ai/v1/observation + POST /ai/v1/actions (one slot each),
   latency percentiles of the pair (target: p99 < 10 ms);
2. ``clients`` client processes hammering the same pair for ``seconds`` seconds: requests per second
   (each GET and each POST counts) and errors (target: >= 500 req/s, zero errors).

Usage: ``python benchmarks/rest_roundtrip.py [--iterations 500] [--clients 4] [--seconds 10]``.
Writes ``benchmarks/results/rest_roundtrip.json`` with machine info.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sim_throughput import machine_info, write_json

TOKEN = "bench-token"
RESULT = Path(__file__).resolve().parent / "results" / "rest_roundtrip.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("netslice")
    cmd = [str(exe), "serve", "--port", str(port), "--token", TOKEN, "--log-level", "warning", "--seed", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def action_body(base: str) -> dict[str, Any]:
    spaces = httpx.get(f"{base}/ai/v1/spaces").json()
    _, rows, slices = spaces["action_shape"]
    return {"action": np.full((rows, slices), 0.3).tolist()}


def one_client(base: str, iterations: int) -> list[float]:
    body = action_body(base)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    out = []
    with httpx.Client(base_url=base, headers=headers) as client:
        for i in range(iterations + 20):
            t = time.perf_counter()
            client.get("/ai/v1/observation").raise_for_status()
            client.post("/ai/v1/actions", json=body).raise_for_status()
            if i >= 20:  # warm-up
                out.append(time.perf_counter() - t)
    return out


def hammer(base: str, seconds: float, queue: Any) -> None:
    body = action_body(base)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    ok = errors = 0
    end = time.perf_counter() + seconds
    with httpx.Client(base_url=base, headers=headers) as client:
        while time.perf_counter() < end:
            for call in (lambda: client.get("/ai/v1/observation"), lambda: client.post("/ai/v1/actions", json=body)):
                try:
                    r = call()
                    ok, errors = (ok + 1, errors) if r.status_code < 400 else (ok, errors + 1)
                except httpx.HTTPError:
                    errors += 1
    queue.put((ok, errors))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        lat = np.array(one_client(base, args.iterations)) * 1e3
        queue: Any = mp.get_context("spawn").Queue()
        procs = [mp.get_context("spawn").Process(target=hammer, args=(base, args.seconds, queue))
                 for _ in range(args.clients)]  # fmt: skip
        start = time.perf_counter()
        for p in procs:
            p.start()
        counts = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)
    ok = sum(c[0] for c in counts)
    errors = sum(c[1] for c in counts)
    single = {f"p{q}_ms": float(np.percentile(lat, q)) for q in (50, 90, 99)}
    single["mean_ms"] = float(lat.mean())
    multi = {"clients": args.clients, "seconds": elapsed, "requests": ok + errors, "errors": errors,
             "requests_per_s": (ok + errors) / elapsed}  # fmt: skip
    result = {
        "machine": machine_info(),
        "config": {
            "scenario": "testbed-v0",
            "n_envs": 1,
            "iterations": args.iterations,
            "pair": "GET observation + POST actions",
        },
        "single_client": single,
        "several_clients": multi,
        "targets": {
            "p99_pair_ms": {"target": "< 10", "value": single["p99_ms"], "pass": single["p99_ms"] < 10.0},
            "requests_per_s": {
                "target": ">= 500, zero errors",
                "value": multi["requests_per_s"],
                "pass": multi["requests_per_s"] >= 500 and errors == 0,
            },
        },
        "notes": "one uvicorn process; each POST runs one slot of the simulator; client processes share the 2 cores",
    }
    write_json(args.out, result)
    print(f"single client: p50 {single['p50_ms']:.2f} ms, p99 {single['p99_ms']:.2f} ms per GET+POST pair")
    print(f"{args.clients} clients: {multi['requests_per_s']:.0f} req/s, {errors} errors over {elapsed:.1f} s")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
