"""REST round trips of the API on loopback at 1, 8, 32 and 64 concurrent connections: req/s, p50, p99.

Starts a real server (``netslice.orchestration.api.server.serve``: one uvicorn process, testbed-v0, one
network, seed 0, log level ``info`` as ``netslice serve`` defaults to) in a subprocess on a free port.
For each level, that many keep-alive HTTP/1.1 connections (one asyncio client process, raw sockets, so
the client costs little next to the server) each loop over the mix

    GET /ai/v1/observation, POST /ai/v1/actions (one slot), GET .../NetworkSlice=mar/kpis

for ``seconds`` seconds after a 1 s warm-up (and after one priming ``POST /ai/v1/slots``, whose time is
reported as ``first_post_s``: the first slot after start-up). Every request counts; the script reports requests per
second, p50 and p99 latency per level and per request kind, and errors (status >= 400 or a broken
connection).

``--baseline REF`` runs the same levels, in the same run, against the server of git revision ``REF``
(its ``src/`` exported with ``git archive`` to a temporary folder and put first on ``PYTHONPATH``), and
reports the ratios current / baseline. Both servers run side by side and the levels alternate between
them, so that a change in machine load hits both alike.

Each level runs ``repeats`` times (interleaved); every figure is the median over the repeats.

Usage: ``python benchmarks/rest_roundtrip.py [--levels 1 8 32 64] [--seconds 5] [--repeats 3] [--baseline REF]
[--current REF]``.
Writes ``benchmarks/results/rest_roundtrip.json`` with machine info.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from common import RESULTS_DIR, machine_info, write_json

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
RESULT = RESULTS_DIR / "rest_roundtrip.json"
KINDS = ("GET observation", "POST actions", "GET kpis")
SERVER = (
    "import sys; from netslice.orchestration.api.server import serve; "
    "serve('testbed-v0', n_envs=1, seed=0, port=int(sys.argv[1]), token=sys.argv[2], log_level='info')"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def resolve(ref: str | None) -> str | None:
    """``ref`` with its commit id, e.g. ``HEAD~1 (0123abc...)``."""
    if ref is None:
        return None
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", ref], capture_output=True, text=True, check=True)
    return f"{ref} ({sha.stdout.strip()})"


def export_src(ref: str, into: Path) -> Path:
    """``src/`` of git revision ``ref`` under ``into`` (the working tree is not touched)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "src.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def start_server(port: int, src: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), TOKEN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def requests_of(base: str) -> list[bytes]:
    """The three raw requests of the mix."""
    spaces = httpx.get(f"{base}/ai/v1/spaces").json()
    _, rows, slices = spaces["action_shape"]
    body = json.dumps({"action": np.full((rows, slices), 0.3).tolist()}).encode()
    host = "Host: 127.0.0.1\r\n"
    kpis = "/ProvMnS/v1/SubNetwork=netslice/NetworkSlice=mar/kpis"
    return [
        f"GET /ai/v1/observation HTTP/1.1\r\n{host}\r\n".encode(),
        (
            f"POST /ai/v1/actions HTTP/1.1\r\n{host}Authorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body,
        f"GET {kpis} HTTP/1.1\r\n{host}\r\n".encode(),
    ]


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request and read its response (Content-Length framed); the status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def connection(
    port: int, mix: list[bytes], warm_until: float, stop_at: float, out: dict[int, list[float]], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        i = 0
        while (now := time.perf_counter()) < stop_at:
            kind = i % len(mix)
            try:
                status = await exchange(reader, writer, mix[kind])
            except (OSError, asyncio.IncompleteReadError):
                errors[0] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if now >= warm_until:
                out[kind].append(time.perf_counter() - now)
                errors[0] += status >= 400
            i += 1
    finally:
        writer.close()


async def level(port: int, mix: list[bytes], connections: int, seconds: float) -> dict[str, Any]:
    start = time.perf_counter()
    warm_until, stop_at = start + 1.0, start + 1.0 + seconds
    lat: dict[int, list[float]] = defaultdict(list)
    errors = [0]
    await asyncio.gather(*(connection(port, mix, warm_until, stop_at, lat, errors) for _ in range(connections)))
    elapsed = time.perf_counter() - warm_until
    every = np.array([x for k in lat for x in lat[k]]) * 1e3
    done = int(every.size)
    row: dict[str, Any] = {
        "connections": connections,
        "seconds": elapsed,
        "requests": done,
        "errors": errors[0],
        "requests_per_s": done / elapsed,
        "p50_ms": float(np.percentile(every, 50)),
        "p99_ms": float(np.percentile(every, 99)),
        "max_ms": float(every.max()),
    }
    # Closed loop, FIFO server: a request waits for about one request of every other connection.
    row["fair_share_ms"] = connections / row["requests_per_s"] * 1e3
    row["p99_over_fair_share"] = row["p99_ms"] / row["fair_share_ms"]
    row["by_kind"] = {
        KINDS[k]: {
            "requests": len(v),
            "p50_ms": float(np.percentile(np.array(v) * 1e3, 50)),
            "p99_ms": float(np.percentile(np.array(v) * 1e3, 99)),
        }
        for k, v in sorted(lat.items())
    }
    return row


def first_post_s(base: str) -> float:
    """Seconds of the first ``POST /ai/v1/slots`` after start-up (the numba kernel compiles if nothing did before)."""
    t = time.perf_counter()
    httpx.post(f"{base}/ai/v1/slots", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600).raise_for_status()
    return time.perf_counter() - t


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The repeats of one level: the median of each figure, and the repeats themselves."""
    out: dict[str, Any] = {"connections": rows[0]["connections"]}
    for key in ("requests_per_s", "p50_ms", "p99_ms", "max_ms", "fair_share_ms", "p99_over_fair_share"):
        out[key] = float(np.median([r[key] for r in rows]))
    out["errors"] = sum(r["errors"] for r in rows)
    out["repeats"] = rows
    return out


def run(sources: dict[str, Path], levels: list[int], seconds: float, repeats: int) -> dict[str, dict[str, Any]]:
    """Serve each source tree side by side and run the levels on them in turn, ``repeats`` times.

    Level by level and server by server, so that a change in machine load hits every server alike;
    each figure is the median over the repeats.
    """
    servers: dict[str, subprocess.Popen[bytes]] = {}
    out: dict[str, dict[str, Any]] = {}
    try:
        ports = {}
        for name, src in sources.items():
            ports[name] = free_port()
            servers[name] = start_server(ports[name], src)
        for name, port in ports.items():
            base = f"http://127.0.0.1:{port}"
            out[name] = {"first_post_s": first_post_s(base), "levels": []}
            print(f"{name}: first POST /ai/v1/slots {out[name]['first_post_s']:.3f} s", file=sys.stderr)
        raw: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        for _ in range(repeats):
            for n in levels:
                for name, port in ports.items():
                    mix = requests_of(f"http://127.0.0.1:{port}")
                    row = asyncio.run(level(port, mix, n, seconds))
                    print(
                        f"{name:>8} {n:3d} connections: {row['requests_per_s']:6.0f} req/s, "
                        f"p50 {row['p50_ms']:7.2f} ms, p99 {row['p99_ms']:8.2f} ms, errors {row['errors']}",
                        file=sys.stderr,
                    )
                    raw[name, n].append(row)
        for name in ports:
            out[name]["levels"] = [median_row(raw[name, n]) for n in levels]
        return out
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)


def targets(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by = {r["connections"]: r for r in rows}
    top, ref = max(by), min((n for n in by if n > 1), default=max(by))
    out: dict[str, Any] = {
        "zero_errors": {"target": "0", "value": sum(r["errors"] for r in rows)},
        "throughput_holds": {
            "target": f"req/s at {top} connections >= 0.8 x req/s at {ref}",
            "value": by[top]["requests_per_s"] / by[ref]["requests_per_s"],
        },
        "p99_linear_in_queue": {
            "target": "p99 <= 2 x fair share (connections / req/s) at every level > 1",
            "value": max((r["p99_over_fair_share"] for r in rows if r["connections"] > 1), default=0.0),
        },
    }
    out["zero_errors"]["pass"] = out["zero_errors"]["value"] == 0
    out["throughput_holds"]["pass"] = out["throughput_holds"]["value"] >= 0.8
    out["p99_linear_in_queue"]["pass"] = out["p99_linear_in_queue"]["value"] <= 2.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 64])
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per level (after 1 s of warm-up)")
    ap.add_argument("--baseline", default=None, help="git revision to run side by side (e.g. HEAD~1)")
    ap.add_argument("--current", default=None, help="git revision to measure instead of the working tree")
    ap.add_argument("--repeats", type=int, default=3, help="runs of every level; figures are medians")
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "config": {
            "scenario": "testbed-v0",
            "n_envs": 1,
            "levels": args.levels,
            "seconds_per_level": args.seconds,
            "repeats": args.repeats,
            "mix": list(KINDS),
            "server": "one uvicorn process, log level info (the netslice serve default)",
            "client": "one asyncio process, raw HTTP/1.1 keep-alive connections",
            "current": resolve(args.current) or "working tree",
            "baseline": resolve(args.baseline),
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"current": export_src(args.current, Path(tmp) / "current") if args.current else ROOT / "src"}
        if args.baseline:
            sources["baseline"] = export_src(args.baseline, Path(tmp) / "baseline")
        result.update(run(sources, args.levels, args.seconds, args.repeats))
    result["targets"] = targets(result["current"]["levels"])
    if args.baseline:
        result["ratios_current_over_baseline"] = [
            {
                "connections": cur["connections"],
                "requests_per_s": cur["requests_per_s"] / base["requests_per_s"],
                "p50_ms": cur["p50_ms"] / base["p50_ms"],
                "p99_ms": cur["p99_ms"] / base["p99_ms"],
            }
            for cur, base in zip(result["current"]["levels"], result["baseline"]["levels"], strict=True)
        ]
    result["notes"] = (
        "client and server share the machine's cores; each POST runs one slot of the simulator (fused backend "
        "when numba is installed); latency is per request, from write to the last byte of the response"
    )
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
