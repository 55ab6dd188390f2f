"""gunicorn settings for production and `make run`; each can be overridden by its environment variable."""

import os
import shutil
import tempfile

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "1"))
# A request taking longer than this is killed (its worker restarted); keep it above the slowest
# legitimate request (exports, bulk imports).
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# On SIGTERM, running requests get this long to finish before their worker is killed.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Restart each worker after about this many requests (the jitter keeps them from restarting together).
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("WEB_MAX_REQUESTS_JITTER", "200"))
# X-Forwarded-Proto/-For are believed only from these addresses: the reverse proxy in front.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips
# The application logs one JSON line per request (with its request id, never the query string).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Metrics of all workers add up through files in one folder (prometheus-client's multiprocess mode).
# Set before the workers import the application; emptied at each start.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shop-metrics-")


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
