"""Run the README's tour, as written, against a live server: `make tour` or `python -m tests.readme_tour`.

The tour is every ```sh block between "## A tour with curl" and "## Rules worth knowing", run top to
bottom in one bash. A fresh SQLite database gets the migrations and the demo data; the server is
gunicorn on a free loopback port, with localstripe (a Stripe-compatible server) for the Stripe steps.
Every curl call must answer 2xx unless its command ends with a comment `# → NNN` (the status the README
predicts); every other command must succeed. Any other answer fails the tour, naming the README line.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.payments.stripe_peer import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "## A tour with curl"
END = "## Rules worth knowing"
MARKER = re.compile(r"#\s*→\s*([1-5]\d\d)\b")
CURL_CALL = re.compile(r"(^|\$\(|[;&|]\s*)\s*curl\s")

# The shell the tour runs in: curl reports every status (and the README line) to the runner; a
# command that fails is reported by the ERR trap.
PRELUDE = r"""
set -E
curl() {
  local line=${BASH_LINENO[0]} headers rc status expected
  headers=$(mktemp)
  command curl -D "$headers" "$@"
  rc=$?
  status=$(awk '/^HTTP\//{s=$2} END{print s}' "$headers")
  rm -f "$headers"
  expected=$(awk -v l="$line" '$1 == l {print $2}' "$TOUR_EXPECT")
  echo "$line ${status:-000} ${expected:-2xx}" >> "$TOUR_CALLS"
  if [ "$rc" -ne 0 ]; then return "$rc"; fi
  if [ -n "$expected" ]; then [ "$status" = "$expected" ]; else [[ "$status" == 2?? ]]; fi
}
trap 'echo "$LINENO exit $?" >> "$TOUR_ERRORS"' ERR
"""


@dataclass
class Script:
    text: str
    readme_line: dict[int, int]  # script line -> README line
    expected: dict[int, str] = field(default_factory=dict)  # line of a curl call -> its predicted status


def extract(readme: str) -> Script:
    """The tour's shell blocks, behind the prelude, with the status each curl call is predicted to answer."""
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(START))
    end = next(i for i, line in enumerate(lines) if line.startswith(END))
    out = PRELUDE.strip("\n").splitlines()
    readme_line: dict[int, int] = {}
    inside = False
    for number in range(start, end):
        line = lines[number]
        if line.strip() == "```sh":
            inside = True
        elif line.strip() == "```" and inside:
            inside = False
        elif inside:
            out.append(line)
            readme_line[len(out)] = number + 1
    script = Script("\n".join(out) + "\n", readme_line)
    last_call = None
    for number, line in enumerate(out, start=1):
        code = line.lstrip()
        if CURL_CALL.search(line) and not code.startswith("#"):
            last_call = number
        marker = MARKER.search(line)
        if marker and not code.startswith("#"):
            if last_call is None:
                raise ValueError(f"README line {readme_line.get(number)}: a status marker after no curl call")
            script.expected[last_call] = marker.group(1)
    return script


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start (status {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within {timeout}s")


@dataclass
class Result:
    calls: list[tuple[int, str, str]]  # README line, status, expected
    failures: list[str]
    output: str


def run(workdir: Path, *, workers: int = 2, echo: bool = False) -> Result:
    """Serve a fresh database with demo data and run the tour against it."""
    bin_dir = Path(sys.executable).parent
    port = free_port()
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": f"sqlite:///{workdir / 'shop.db'}",
        "SHOP_INSTANCE_DIR": str(workdir / "instance"),
        "SHOP_ENV": "development",
        "API": f"http://127.0.0.1:{port}/api/v1",
        "SEARCH_BACKEND": "embedded",
        "ELASTICSEARCH_URL": "",
        # The tour logs in a dozen times within seconds: a person reading along would not.
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "TOUR_EXPECT": str(workdir / "expect"),
        "TOUR_CALLS": str(workdir / "calls"),
        "TOUR_ERRORS": str(workdir / "errors"),
        # jobs this server enqueues name rows of the tour's database: keep them out of instance/
        "JOBS_QUEUE_FOLDER": str(workdir / "queue"),
    }
    for name in ("JWT_SECRET_KEY", "VOUCHER_CODE_SECRET", "STRIPE_WEBHOOK_SECRET", "RATELIMIT_STORAGE_URI"):
        env.pop(name, None)
    stripe = _start_localstripe()
    if stripe is not None:
        env.update(
            STRIPE_SECRET_KEY="sk_test_tour_0123456789",
            STRIPE_WEBHOOK_SECRET="whsec_tour_0123456789",
            STRIPE_API_BASE=stripe[1],
            STRIPE_MAX_NETWORK_RETRIES="0",
        )
    script = extract(README.read_text(encoding="utf-8"))
    (workdir / "tour.sh").write_text(script.text, encoding="utf-8")
    (workdir / "expect").write_text("".join(f"{line} {status}\n" for line, status in script.expected.items()))
    for name in ("calls", "errors"):
        (workdir / name).write_text("")
    server = None
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 (closed in finally)
    try:
        flask = [str(bin_dir / "flask")]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([*flask, "demo", "load", "--if-empty"], cwd=ROOT, env=env, check=True, capture_output=True)
        server = subprocess.Popen(
            [
                *(str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
                *("--graceful-timeout", "5", "wsgi:app"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_for(f"{env['API']}/health", server)
        tour = subprocess.run(
            ["bash", str(workdir / "tour.sh")],
            cwd=ROOT,
            env=env,
            stdout=None if echo else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",  # an answer that is not UTF-8 text must not stop the report
            timeout=300,
        )
    finally:
        for process in (server, stripe and stripe[0]):
            if process:
                _stop(process)
        log.close()
    (workdir / "tour.out").write_text(tour.stdout or "", encoding="utf-8")
    return _result(script, workdir, tour.stdout or "")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _result(script: Script, workdir: Path, output: str) -> Result:
    where = script.readme_line
    calls, failures = [], []
    for row in (workdir / "calls").read_text().splitlines():
        line, status, expected = row.split()
        readme = where.get(int(line), 0)
        calls.append((readme, status, expected))
        if not (status == expected or (expected == "2xx" and status.startswith("2"))):
            failures.append(f"README line {readme}: answered {status}, expected {expected}")
    for row in (workdir / "errors").read_text().splitlines():
        line, _, status = row.split()
        if int(line) not in where:  # inside the prelude: the call is reported above
            continue
        readme = where[int(line)]
        if not any(f"README line {readme}:" in failure for failure in failures):
            failures.append(f"README line {readme}: the command failed (exit {status})")
    predicted = {where[line] for line in script.expected}
    seen = {call[0] for call in calls}
    failures += [f"README line {line}: predicted a status but was never called" for line in sorted(predicted - seen)]
    return Result(calls, failures, output)


def _start_localstripe() -> tuple[subprocess.Popen, str] | None:
    """localstripe, if installed (the test extras), on a free port; else the Stripe steps answer 503."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        return None
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("localstripe did not start")


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="shop-tour-"))
    started = time.monotonic()
    try:
        result = run(workdir, echo="-v" in sys.argv)
    except Exception:
        print(f"the tour could not run; files kept in {workdir}", file=sys.stderr)
        raise
    seconds = time.monotonic() - started
    if result.failures:
        print("\n".join(["", "The README tour failed:", *result.failures, f"(files kept in {workdir})"]))
        return 1
    print(f"The README tour ran: {len(result.calls)} calls answered as predicted in {seconds:.0f} s.")
    if "--keep" in sys.argv:
        print(f"(files kept in {workdir})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
