"""Throughput of the event API: ``POST /v1/batch`` with 100-event batches, end to end.

Starts uvicorn in a subprocess on a free port with a temporary workspace (SQLite inbox, WAL,
synchronous=FULL) and a write key, then sends batches of unique events from several threads,
each with its own keep-alive httpx connection, for a fixed time. The same client then measures a
no-op FastAPI endpoint that only reads the same body (the baseline: HTTP server, framework and
client costs). Prints events/s for both and their ratio, and checks the inbox holds every
acknowledged event.

    python benchmarks/ingest_api.py [--seconds 10] [--concurrency 8] [--batch-size 100]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from _server import stop, wait_ready
from fastapi import FastAPI, Request
from fastapi.responses import Response


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _baseline_server(port: int) -> None:
    """A FastAPI app whose /v1/batch reads the body and answers like the real one."""
    app = FastAPI()

    @app.post("/v1/batch")
    async def batch(request: Request) -> Response:
        await request.body()
        return Response(b'{"success":true}', media_type="application/json")

    @app.get("/health")
    async def health() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _template(batch_size: int) -> bytes:
    """A batch body whose messageIds all contain ``@BATCH@`` (replaced per request)."""
    events = [
        {
            "type": "track",
            "messageId": f"@BATCH@-{i:04d}",
            "userId": f"user-{i % 37}",
            "event": "Product Viewed",
            "timestamp": "2026-11-20T10:15:00.123Z",
            "properties": {"product_id": f"sku-{i}", "price": 19.99, "currency": "EUR",
                           "category": "shoes", "position": i},
            "context": {"library": {"name": "analytics-python", "version": "2.3.3"},
                        "ip": "203.0.113.7", "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"},
        }
        for i in range(batch_size)
    ]
    return orjson.dumps({"batch": events, "sentAt": "2026-11-20T10:15:01Z"})


def _load(url: str, auth: tuple[str, str], *, seconds: float, warmup: float, concurrency: int,
          batch_size: int, run: str) -> dict[str, Any]:
    template = _template(batch_size)
    counter = iter(range(10**12))
    lock = threading.Lock()
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds
    acknowledged: list[int] = []
    latencies: list[float] = []
    failures: list[str] = []

    def worker() -> None:
        events = 0
        mine: list[float] = []
        with httpx.Client(base_url=url, auth=auth, timeout=30.0,
                          headers={"content-type": "application/json"}) as client:
            while (now := time.monotonic()) < stop_at:
                with lock:
                    n = next(counter)
                body = template.replace(b"@BATCH@", f"{run}-{n:09d}".encode())
                response = client.post("/v1/batch", content=body)
                done = time.monotonic()
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    return
                if now >= start_at:
                    events += batch_size
                    mine.append(done - now)
        with lock:
            acknowledged.append(events)
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"requests failed: {failures[0]}")
    latencies.sort()
    return {
        "events_per_s": sum(acknowledged) / seconds,
        "requests": len(latencies),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def _serve(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--baseline-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        _baseline_server(args.baseline_server)
        return

    from growthloop.ingest._inbox import read_unflushed
    from growthloop.keys import create_key
    from growthloop.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="gl-bench-") as tmp:
        root = Path(tmp) / "workspace"
        with Workspace.init(root) as workspace:
            secret = create_key(store=workspace.operational, name="bench", scopes=["write"]).secret
        env = {**os.environ, "GROWTHLOOP_WORKSPACE": str(root)}
        env.pop("GROWTHLOOP_OPS_URL", None)
        load = {"seconds": args.seconds, "warmup": args.warmup, "concurrency": args.concurrency,
                "batch_size": args.batch_size}

        port = _free_port()
        server = _serve([sys.executable, "-m", "uvicorn", "--factory", "growthloop.api:create_app",
                         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                         "--no-access-log"], env, port)
        try:
            app = _load(f"http://127.0.0.1:{port}", (secret, ""), run="app", **load)
        finally:
            stop(server)

        port = _free_port()
        server = _serve([sys.executable, __file__, "--baseline-server", str(port)], env, port)
        try:
            baseline = _load(f"http://127.0.0.1:{port}", (secret, ""), run="base", **load)
        finally:
            stop(server)

        with Workspace.open(root) as workspace:
            stored = len(read_unflushed(store=workspace.operational, limit=10**9))

    print(f"cores: {os.cpu_count()}, batch size {args.batch_size}, {args.concurrency} connections,"
          f" {args.seconds:g} s measured after {args.warmup:g} s warm-up")
    for name, result in (("growthloop /v1/batch", app), ("no-op FastAPI baseline", baseline)):
        print(f"{name:24s} {result['events_per_s']:>10,.0f} events/s  "
              f"({result['requests']} requests, p50 {result['p50_ms']:.1f} ms, "
              f"p99 {result['p99_ms']:.1f} ms)")
    print(f"ratio growthloop / baseline: {app['events_per_s'] / baseline['events_per_s']:.2f}")
    print(f"events in the inbox: {stored:,} (every acknowledged one, plus warm-up and tail)")


if __name__ == "__main__":
    main()
