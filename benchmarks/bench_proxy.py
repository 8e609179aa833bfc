"""Added latency and throughput of ``infercarbon proxy`` beside a direct call, same run.

A fake OpenAI-compatible upstream (:class:`infercarbon.service.fake_upstream.FakeOpenAI`
under uvicorn) and the proxy (``infercarbon proxy``, modelled mode, events recorded in a
DuckDB ledger) run as separate processes on loopback.  The load generator is a minimal
HTTP/1.1 keep-alive client on asyncio streams (so that it costs little CPU itself):

* latency: ``--latency-n`` sequential non-streaming chat completions, direct and through the
  proxy, interleaved; p50 and p99 of each and the p50 difference (target < 1 ms);
* throughput: ``--concurrency`` connections for ``--seconds``, direct and through the proxy
  (target >= 2,000 req/s on 2 cores); the ratio proxy/direct.

All processes share the machine's cores (the proxy, the upstream and the load generator
compete): the figures printed are what was measured, with ``os.cpu_count()`` beside them.

    python benchmarks/bench_proxy.py [--latency-n 2000] [--seconds 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: this checkout's package, for this process and the ones it starts
SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

BODY = json.dumps(
    {"model": "m", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 8}
).encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def _request(port: int) -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (port, len(BODY))
    ) + BODY


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> int:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _latency(ports: dict[str, int], n: int) -> dict[str, np.ndarray]:
    conns = {k: await asyncio.open_connection("127.0.0.1", p) for k, p in ports.items()}
    reqs = {k: _request(p) for k, p in ports.items()}
    out: dict[str, list[float]] = {k: [] for k in ports}
    for k in ports:  # warm up
        for _ in range(50):
            await _one(*conns[k], reqs[k])
    for _ in range(n):
        for k in ports:
            t0 = time.perf_counter()
            assert await _one(*conns[k], reqs[k]) == 200
            out[k].append(time.perf_counter() - t0)
    for _, w in conns.values():
        w.close()
    return {k: np.array(v) for k, v in out.items()}


async def _throughput(port: int, seconds: float, concurrency: int) -> tuple[float, int]:
    req = _request(port)
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        r, w = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            assert await _one(r, w, req) == 200
            done += 1
        w.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0), done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-n", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--out", type=Path, help="also write the result JSON here")
    ap.add_argument(
        "--sensor",
        default=None,
        help="measured mode with this sensor (e.g. cpu-model); default: modelled "
        "(LLM estimator, H100, 8B)",
    )
    args = ap.parse_args()
    up_port, px_port = _free_port(), _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    upstream = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import uvicorn; from infercarbon.service.fake_upstream import FakeOpenAI; "
            f"uvicorn.run(FakeOpenAI(), host='127.0.0.1', port={up_port}, log_level='warning', "
            "access_log=False)",
        ],
        env=env,
    )
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infercarbon.cli.main",
            "proxy",
            "--upstream",
            f"http://127.0.0.1:{up_port}",
            "--port",
            str(px_port),
            "--ledger",
            str(tmp / "bench.duckdb"),
            "--region",
            "DE",
            *(
                ["--sensor", args.sensor]
                if args.sensor
                else ["--gpu", "H100", "--model-params-b", "8"]
            ),
        ],
        env=env,
    )
    try:
        _wait_port(up_port)
        _wait_port(px_port)
        lat = asyncio.run(_latency({"direct": up_port, "proxy": px_port}, args.latency_n))
        p50 = {k: float(np.percentile(v, 50)) * 1e3 for k, v in lat.items()}
        p99 = {k: float(np.percentile(v, 99)) * 1e3 for k, v in lat.items()}
        rps_direct, _ = asyncio.run(_throughput(up_port, args.seconds, args.concurrency))
        rps_proxy, n_proxy = asyncio.run(_throughput(px_port, args.seconds, args.concurrency))
    finally:
        t_stop = time.perf_counter()
        proxy.terminate()  # SIGTERM: uvicorn stops, the proxy records what is left
        proxy.wait(120)
        drain_s = time.perf_counter() - t_stop
        upstream.terminate()
        upstream.wait(30)
    # every metered request through the proxy must be in the ledger (warm-up included)
    from infercarbon.ledger import open_store

    store = open_store(str(tmp / "bench.duckdb"))
    try:
        recorded = store.count("events")
    finally:
        store.close()
    sent = n_proxy + args.latency_n + 50
    added = p50["proxy"] - p50["direct"]
    result = {
        "cpu_count": os.cpu_count(),
        "energy": args.sensor or "modelled (llm estimator)",
        "latency_n": args.latency_n,
        "p50_direct_ms": round(p50["direct"], 3),
        "p50_proxy_ms": round(p50["proxy"], 3),
        "p99_direct_ms": round(p99["direct"], 3),
        "p99_proxy_ms": round(p99["proxy"], 3),
        "p50_added_ms": round(added, 3),
        "p50_ratio_proxy_over_direct": round(p50["proxy"] / p50["direct"], 2),
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "rps_direct": round(rps_direct),
        "rps_proxy": round(rps_proxy),
        "rps_ratio_proxy_over_direct": round(rps_proxy / rps_direct, 2),
        "proxied_requests": sent,
        "events_recorded": recorded,
        # time from SIGTERM to exit: the recording backlog left when the load stopped
        "shutdown_drain_s": round(drain_s, 2),
        "target_p50_added_ms_lt": 1.0,
        "target_rps_ge": 2000,
        "p50_target_met": added < 1.0,
        "rps_target_met": rps_proxy >= 2000,
    }
    result["load_average_1m"] = os.getloadavg()[0]  # other work on the machine meanwhile
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
