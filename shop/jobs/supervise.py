"""`make run`: the web server and one worker with its scheduler, side by side in one terminal.

Ctrl-C (or SIGTERM) asks both to stop gracefully (running requests and jobs finish); if either
exits on its own, the other is stopped too. Production runs the Procfile's processes instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shop.config import ROOT


def commands(port: str, workers: str) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    instance = ROOT / "instance"
    return {
        "web": [str(bin_dir / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", workers, "wsgi:app"],
        "worker": [
            str(bin_dir / "celery"),
            "-A",
            "shop.jobs.worker:celery",
            "worker",
            "--beat",
            "--schedule",
            str(instance / "celerybeat-schedule"),
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
        ],
    }


def main() -> int:
    port = os.environ.get("PORT", "8000")
    env = {**os.environ, "PORT": port, "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text")}
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / "instance" / "metrics"))
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    for stale in Path(env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()
    procs = {
        name: subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        for name, cmd in commands(port, os.environ.get("WORKERS", "2")).items()
    }
    print(f"serving on http://127.0.0.1:{port} with a worker and its scheduler; Ctrl-C stops both", flush=True)
    stopping = False

    def stop(*_args):
        nonlocal stopping
        if not stopping:
            stopping = True
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while any(proc.poll() is None for proc in procs.values()):
        for name, proc in procs.items():
            if proc.poll() is not None and not stopping:
                print(f"{name} exited with {proc.returncode}; stopping the rest", flush=True)
                code = proc.returncode or 1
                stop()
        time.sleep(0.2)
    return code


if __name__ == "__main__":
    sys.exit(main())
