"""gunicorn with its config file: metrics add up across worker processes; SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from shop import migrate
from shop.config import ROOT
from tests.jobs.conftest import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def test_gunicorn_serves_with_metrics_of_all_workers_and_stops_on_sigterm(scratch_database_url, tmp_path):
    migrate.upgrade(scratch_database_url)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database_url,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "JOBS_BROKER_URL": "memory://",
        "SEARCH_BACKEND": "embedded",
        "ELASTICSEARCH_URL": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: get(f"{base}/api/v1/health")[0] == 200, timeout=60)
        for _ in range(20):
            assert get(f"{base}/api/v1/health")[0] == 200
        status, text = get(f"{base}/metrics")
        assert status == 200
        line = next(
            row
            for row in text.splitlines()
            if row.startswith('shop_http_request_duration_seconds_count{method="GET",route="/api/v1/health"')
        )
        assert float(line.split()[-1]) >= 21  # every request, whichever worker served it
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(40) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
