"""gunicorn settings for the ASGI app: uvicorn workers, graceful drain, multiprocess metrics.

``gunicorn --config deploy/gunicorn.conf.py example_project.asgi:application``.
Every value can be overridden from the environment (``WEB_CONCURRENCY``,
``PORT``, ``GRACEFUL_TIMEOUT``...), which is how the compose file sizes it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "uvicorn_worker.UvicornWorker"
# Workers per container; see docs/deployment.rst for sizing against the DB pool.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("MAX_REQUESTS_JITTER", "500"))
timeout = int(os.environ.get("WORKER_TIMEOUT", "60"))
# SIGTERM reaches every worker; each drains for DRAIN_SECONDS (readiness 503
# "draining", requests still served: the application installs the handler),
# then closes its realtime connections with 1012, stops accepting and finishes
# what is in flight. gunicorn kills a worker still running GRACEFUL_TIMEOUT
# seconds after the SIGTERM, so it is the drain plus the longest request you
# let finish (20 s by default); the container's stop grace period (compose's
# stop_grace_period, Kubernetes' terminationGracePeriodSeconds) must be longer
# still. docs/deployment.rst has the timeline.
_drain_seconds = int(os.environ.get("DRAIN_SECONDS", "10"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", str(_drain_seconds + 20)))
keepalive = 5
# Logs are the app's JSON lines; gunicorn's own access log would duplicate them.
accesslog = None
errorlog = "-"
# uvicorn rewrites the client address from X-Forwarded-For for these peers. Keep it
# to loopback: the app decides which proxies to believe (STABILITY_TRUSTED_PROXIES),
# and "*" here would let any client that reaches a worker choose its address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def on_starting(server: Any) -> None:
    """Start every server run with an empty metrics directory: old files would be counted again."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        if path.exists():
            for child in path.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the aggregated metrics (its counters stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
