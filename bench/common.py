"""What the benchmarks share: a scratch database, a gunicorn server, an HTTP load loop, a table."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def scratch_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int) -> Iterator[int]:
    port = free_port()
    # Workers are not recycled during a run (WEB_MAX_REQUESTS=0 unless set): a bench sends in seconds
    # the requests a worker serves for minutes in production, and each recycling stalls its clients
    # while the app loads again and starts with an empty catalog cache.
    env = {"WEB_MAX_REQUESTS": "0", **os.environ, "DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: stopped with its workers below
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a worker that does not stop gracefully: stop them all
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def run_load(requests: int, concurrency: int, one) -> dict:
    """`one(thread, i)` does one timed request (returns (ok, seconds)); `requests` in all."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_thread = max(1, requests // concurrency)

    def worker(thread: int):
        nonlocal errors
        mine, bad = [], 0
        for i in range(per_thread):
            ok, seconds = one(thread, i)
            mine.append(seconds * 1000)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, max(0, round(len(latencies) * p) - 1))]

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": pct(0.95),
        "p99": pct(0.99),
    }


def load(port: int, path: str, *, requests: int, concurrency: int) -> dict:
    """Send `requests` GETs from `concurrency` threads; return requests/s and latency percentiles (ms)."""

    def one(_thread: int, _i: int) -> tuple[bool, float]:
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status == 200, time.perf_counter() - start

    return run_load(requests, concurrency, one)


def table(title: str, command: str, headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    return "\n".join([f"### {title}", f"command: `{command}`", "", line, rule, *body, ""])
